package journal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sift-aiops/sift/model"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("SIFT_JOURNAL_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// withSegmentSize makes the log roll every n bytes for one test.
func withSegmentSize(t *testing.T, n int64) {
	old := segmentSize
	segmentSize = n
	t.Cleanup(func() { segmentSize = old })
}

func segFiles(t testing.TB, walDir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(walDir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return m // Glob sorts: the names are fixed-width numbers
}

func walBytes(t testing.TB, walDir string) int64 {
	var n int64
	for _, p := range segFiles(t, walDir) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += st.Size()
	}
	return n
}

// appendN appends records id from..to-1, record i carrying cursor
// "c/<i%3>" = i.
func appendN(t *testing.T, j *Journal, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		r := batch(i)
		r.Batch.Cursors = map[string]int64{fmt.Sprintf("c/%d", i%3): int64(i)}
		if err := j.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

// replayIDs returns seq -> the record's "i" label.
func replayIDs(t *testing.T, j *Journal, after uint64) ([]uint64, map[uint64]string) {
	t.Helper()
	var seqs []uint64
	ids := map[uint64]string{}
	err := j.Replay(after, func(r *model.Record) error {
		seqs = append(seqs, r.Seq)
		ids[r.Seq] = r.Batch.Alerts[0].Labels["i"]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seqs, ids
}

func checkContiguous(t *testing.T, seqs []uint64, from, to uint64) {
	t.Helper()
	if len(seqs) != int(to-from+1) {
		t.Fatalf("replayed %d records, want %d..%d", len(seqs), from, to)
	}
	for i, s := range seqs {
		if s != from+uint64(i) {
			t.Fatalf("replay position %d has seq %d, want %d", i, s, from+uint64(i))
		}
	}
}

func TestSegmentRollRoundTrip(t *testing.T) {
	withSegmentSize(t, 2048)
	dir := t.TempDir()
	j, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, j, 1, 301)
	if n := len(segFiles(t, j.walDir)); n < 5 {
		t.Fatalf("%d segments after 300 records with 2 KiB segments", n)
	}
	seqs, ids := replayIDs(t, j, 0)
	checkContiguous(t, seqs, 1, 300)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.LastSeq() != 300 {
		t.Fatalf("LastSeq after reopen = %d", j.LastSeq())
	}
	// Record i (seq i) set c/<i%3> = i: the last ones are 298, 299, 300.
	for k, want := range map[string]int64{"c/0": 300, "c/1": 298, "c/2": 299} {
		if v, ok := j.Cursor(k); !ok || v != want {
			t.Fatalf("cursor %s = %d %v, want %d", k, v, ok, want)
		}
	}
	seqs, ids2 := replayIDs(t, j, 150)
	checkContiguous(t, seqs, 151, 300)
	for s, id := range ids2 {
		if id != ids[s] || id != strconv.Itoa(int(s)) {
			t.Fatalf("seq %d: id %s after reopen, %s before", s, id, ids[s])
		}
	}
	appendN(t, j, 301, 303)
	if j.LastSeq() != 302 {
		t.Fatalf("LastSeq after more appends = %d", j.LastSeq())
	}
}

func TestTornTailIsCutOff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		damage   func(t *testing.T, path string)
		survives int // records of the 60 appended
	}{
		{"truncated", func(t *testing.T, path string) {
			st, _ := os.Stat(path)
			if err := os.Truncate(path, st.Size()-5); err != nil {
				t.Fatal(err)
			}
		}, 59},
		{"garbage appended", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("\x07\x00\x00\x00garbage that is not a frame"))
			f.Close()
		}, 60},
		{"zeros appended", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			f.Write(make([]byte, 4096))
			f.Close()
		}, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, segs := sixtyRecords(t, 2)
			last := segs[len(segs)-1]
			tc.damage(t, last)
			j, err := Open(dir, Options{NoSync: true})
			if err != nil {
				t.Fatalf("reopen after a torn tail: %v", err)
			}
			defer j.Close()
			seqs, ids := replayIDs(t, j, 0)
			checkContiguous(t, seqs, 1, uint64(tc.survives))
			for s, id := range ids {
				if id != strconv.Itoa(int(s)) {
					t.Fatalf("seq %d holds record %s", s, id)
				}
			}
			if j.LastSeq() != uint64(tc.survives) {
				t.Fatalf("LastSeq = %d", j.LastSeq())
			}
			// Appends continue after the cut, and survive a reopen.
			appendN(t, j, 100, 102)
			j.Close()
			j, err = Open(dir, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			seqs, ids = replayIDs(t, j, 0)
			checkContiguous(t, seqs, 1, uint64(tc.survives+2))
			if ids[uint64(tc.survives+2)] != "101" {
				t.Fatalf("last record after the cut is %s", ids[uint64(tc.survives+2)])
			}
		})
	}
}

// sixtyRecords writes records 1..60 to a closed journal of small
// segments (at least minSegs of them) and returns its directory and
// segment files.
func sixtyRecords(t *testing.T, minSegs int) (dir string, segs []string) {
	t.Helper()
	withSegmentSize(t, 1024)
	dir = t.TempDir()
	j, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, j, 1, 61)
	j.Close()
	segs = segFiles(t, j.walDir)
	if len(segs) < minSegs {
		t.Fatalf("only %d segments", len(segs))
	}
	return dir, segs
}

func TestCorruptionInTheMiddleIsAnError(t *testing.T) {
	dir, segs := sixtyRecords(t, 3)
	mid := segs[1]
	data, err := os.ReadFile(mid)
	if err != nil {
		t.Fatal(err)
	}
	good := append([]byte(nil), data...)
	data[len(data)-2] ^= 0x40 // in the payload of its last frame
	os.WriteFile(mid, data, 0o600)
	_, err = Open(dir, Options{NoSync: true})
	if err == nil || !strings.Contains(err.Error(), mid) || !strings.Contains(err.Error(), "CRC mismatch") || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("open with a corrupt middle segment: %v", err)
	}
	// The failed Open released its lock and changed nothing.
	got, _ := os.ReadFile(mid)
	if len(got) != len(data) {
		t.Fatalf("middle segment was modified: %d -> %d bytes", len(data), len(got))
	}
	os.WriteFile(mid, good, 0o600)
	// A missing segment is an error too.
	os.Remove(mid)
	if _, err := Open(dir, Options{NoSync: true}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("open with a missing segment: %v", err)
	}
	os.WriteFile(mid, good, 0o600)
	// A snapshot past the end of the log means records were lost.
	if err := writeSnapshot(dir, 1000, bytesState(nil), true); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{NoSync: true}); err == nil || !strings.Contains(err.Error(), "records are missing") {
		t.Fatalf("open with a snapshot past the log: %v", err)
	}
	if err := writeSnapshot(dir, 30, bytesState([]byte("s")), true); err != nil {
		t.Fatal(err)
	}
	j, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.LastSeq() != 60 {
		t.Fatalf("LastSeq = %d", j.LastSeq())
	}
	seqs, _ := replayIDs(t, j, 0)
	checkContiguous(t, seqs, 31, 60)
}

func TestSnapshotDeletesCoveredSegments(t *testing.T) {
	withSegmentSize(t, 1024)
	dir := t.TempDir()
	j, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, j, 1, 200)
	// A cursor moved only in the first records must outlive them.
	r := batch(200)
	r.Batch.Cursors = map[string]int64{"early": 7}
	appendN(t, j, 200, 201)
	r.Batch.Cursors = map[string]int64{"only-early": 5}
	if err := j.Append(context.Background(), r); err != nil { // seq 201
		t.Fatal(err)
	}
	appendN(t, j, 202, 251)
	before := len(segFiles(t, j.walDir))
	if err := j.SaveSnapshot(220, []byte("state@220")); err != nil {
		t.Fatal(err)
	}
	after := segFiles(t, j.walDir)
	if len(after) >= before {
		t.Fatalf("snapshot kept all %d segments", before)
	}
	// The first remaining segment holds seq 221; the one before it is gone.
	first, _ := strconv.ParseUint(strings.TrimSuffix(filepath.Base(after[0]), ".seg"), 10, 64)
	second, _ := strconv.ParseUint(strings.TrimSuffix(filepath.Base(after[1]), ".seg"), 10, 64)
	if first > 221 || second <= 221 {
		t.Fatalf("remaining segments start at %d, %d", first, second)
	}
	seqs, _ := replayIDs(t, j, 0)
	checkContiguous(t, seqs, 221, 250)
	j.Close()

	j, err = Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	state, seq, err := j.LoadSnapshot()
	if err != nil || seq != 220 || string(state) != "state@220" {
		t.Fatalf("snapshot = %q %d %v", state, seq, err)
	}
	if j.LastSeq() != 250 {
		t.Fatalf("LastSeq = %d", j.LastSeq())
	}
	if v, ok := j.Cursor("only-early"); !ok || v != 5 {
		t.Fatalf("cursor from a deleted segment = %d %v", v, ok)
	}
	if v, ok := j.Cursor("c/0"); !ok || v != 249 {
		t.Fatalf("cursor c/0 = %d %v", v, ok)
	}
	seqs, _ = replayIDs(t, j, 220)
	checkContiguous(t, seqs, 221, 250)
	seqs, _ = replayIDs(t, j, 240)
	checkContiguous(t, seqs, 241, 250)
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{NoSync: true})
	if err == nil || !strings.Contains(err.Error(), "is locked by another process (is another sift running on this data dir?)") {
		t.Fatalf("second open: %v", err)
	}
	j.Close()
	// Closing releases the lock.
	j, err = Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
}

// writeOldJournal creates <dir>/journal.db as the bbolt journal did and
// fills it with fn.
func writeOldJournal(dir string, fn func(tx *bolt.Tx) error) error {
	db, err := bolt.Open(filepath.Join(dir, "journal.db"), 0o600, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{oldBucketLog, oldBucketMeta, oldBucketCur} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

func TestMigrateBoltJournal(t *testing.T) {
	dir := t.TempDir()
	// The old journal took a snapshot at 3 and truncated records 1-3.
	err := writeOldJournal(dir, func(tx *bolt.Tx) error {
		lb := tx.Bucket(oldBucketLog)
		for i := 1; i <= 10; i++ {
			seq, _ := lb.NextSequence()
			if i <= 3 {
				continue
			}
			data, err := appendRecord(nil, batch(i))
			if err != nil {
				return err
			}
			var k [8]byte
			k[7] = byte(seq)
			if err := lb.Put(k[:], data); err != nil {
				return err
			}
		}
		m := tx.Bucket(oldBucketMeta)
		m.Put([]byte("snapshot"), []byte(`{"old":true}`))
		m.Put([]byte("snapshot_seq"), []byte{0, 0, 0, 0, 0, 0, 0, 3})
		return tx.Bucket(oldBucketCur).Put([]byte("alerts/0"), []byte{0, 0, 0, 0, 0, 0, 0x01, 0x00})
	})
	if err != nil {
		t.Fatal(err)
	}
	j, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(wantLast uint64) {
		t.Helper()
		if j.LastSeq() != wantLast {
			t.Fatalf("LastSeq = %d", j.LastSeq())
		}
		if v, ok := j.Cursor("alerts/0"); !ok || v != 256 {
			t.Fatalf("cursor = %d %v", v, ok)
		}
		state, seq, err := j.LoadSnapshot()
		if err != nil || seq != 3 || string(state) != `{"old":true}` {
			t.Fatalf("snapshot = %q %d %v", state, seq, err)
		}
		seqs, ids := replayIDs(t, j, 3)
		if len(seqs) < 7 {
			t.Fatalf("replayed %v", seqs)
		}
		checkContiguous(t, seqs[:7], 4, 10)
		for s, id := range ids {
			if s <= 10 && id != strconv.Itoa(int(s)) {
				t.Fatalf("seq %d holds record %s", s, id)
			}
		}
	}
	check(10)
	if _, err := os.Stat(filepath.Join(dir, "journal.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("journal.db still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "journal.db.migrated")); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), batch(11)); err != nil || j.LastSeq() != 11 {
		t.Fatalf("append after migration: %v, seq %d", err, j.LastSeq())
	}
	j.Close()
	j, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	check(11)
	if seqs, _ := replayIDs(t, j, 10); fmt.Sprint(seqs) != "[11]" {
		t.Fatalf("after reopen: %v", seqs)
	}
}

// The child appends from 4 goroutines and prints "seq id" for every
// acknowledged append until it is killed.
func crashChild(dir string) {
	segmentSize = 16 << 10
	j, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				id := w*10_000_000 + i
				r := batch(id)
				r.Batch.Cursors = map[string]int64{fmt.Sprintf("p/%d", w): int64(i)}
				if err := j.Append(context.Background(), r); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%d %d\n", r.Seq, id)
				mu.Unlock()
			}
		}()
	}
	select {}
}

func TestAcknowledgedAppendsSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the kill -9 test")
	}
	dir := t.TempDir()
	acked := map[uint64]int{}
	for round := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SIFT_JOURNAL_CRASH_CHILD="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		n := 0
		deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
		for sc.Scan() {
			var seq uint64
			var id int
			if _, err := fmt.Sscanf(sc.Text(), "%d %d", &seq, &id); err != nil {
				t.Fatalf("child printed %q", sc.Text())
			}
			acked[seq] = id
			if n++; n == 1500 {
				cmd.Process.Kill() // SIGKILL
			}
		}
		deadline.Stop()
		cmd.Wait()
		if n < 1500 {
			t.Fatalf("round %d: child acknowledged only %d appends", round, n)
		}
	}
	j, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	_, ids := replayIDs(t, j, 0)
	for seq, id := range acked {
		got, ok := ids[seq]
		if !ok || got != strconv.Itoa(id) {
			t.Fatalf("acknowledged seq %d (record %d): replay has %q %v", seq, id, got, ok)
		}
	}
	if len(segFiles(t, j.walDir)) < 2 {
		t.Fatal("the crash test never rolled a segment")
	}
	t.Logf("%d acknowledged appends over 2 kills, %d records replayed", len(acked), len(ids))
}

// Replay, snapshots (deleting segments) and appends run at the same time.
func TestReplayDuringAppendsAndSnapshots(t *testing.T) {
	withSegmentSize(t, 1024)
	j, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	appendN(t, j, 1, 50)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 50; i < 400; i++ {
			if err := j.Append(context.Background(), batch(i)); err != nil {
				t.Error(err)
				return
			}
			if i%40 == 0 {
				if err := j.SaveSnapshot(uint64(i-20), nil); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	for k := 0; ; k++ {
		var prev uint64
		err := j.Replay(0, func(r *model.Record) error {
			if prev != 0 && r.Seq != prev+1 {
				return fmt.Errorf("seq %d after %d", r.Seq, prev)
			}
			if id := r.Batch.Alerts[0].Labels["i"]; id != strconv.Itoa(int(r.Seq)) {
				return fmt.Errorf("seq %d holds record %s", r.Seq, id)
			}
			prev = r.Seq
			return nil
		})
		if err != nil {
			t.Fatalf("replay %d: %v", k, err)
		}
		select {
		case <-done:
			if j.LastSeq() != 399 {
				t.Fatalf("LastSeq = %d", j.LastSeq())
			}
			return
		default:
		}
	}
}
