// Package journal is Sift's durable write-ahead log: every accepted batch
// of alerts and every agent action is committed here before anyone is
// told it was accepted. The incident state is a deterministic function of
// the journal, so it is rebuilt on start from the latest snapshot plus the
// records after it.
//
// Layout of the data directory:
//
//	wal/LOCK                         flock held while the journal is open
//	wal/00000000000000000001.seg     segments of the log, named by the seq of
//	wal/...                          their first record, rolled at ~64 MiB
//	snapshot                         latest snapshot and the seq it covers
//
// Records are framed with their length, seq and a CRC-32C (see wal.go)
// and encoded by codec.go. Concurrent appends are group-committed: the
// frames of every append waiting at that moment are written with one
// write and made durable with one fdatasync, then handed to OnCommit
// while the next group is already being written. On Open the segments are
// scanned and checked: a torn write at the tail of the last segment (a
// crash during a write that was never acknowledged) is cut off with a log
// message; damage anywhere else is an error naming the file and offset.
// SaveSnapshot deletes the segments the snapshot covers.
//
// A data directory written by the earlier bbolt journal (journal.db) is
// migrated on the first Open and journal.db renamed journal.db.migrated.
package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sift-aiops/sift/model"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("journal: closed")

// Options tune the journal.
type Options struct {
	// MaxGroup bounds the records committed in one transaction.
	MaxGroup int
	// NoSync skips fsync (tests and benchmarks of the CPU path only).
	NoSync bool
	// OnCommit is called from one goroutine, in sequence order, with the
	// records of each committed group before their appenders are released.
	OnCommit func([]*model.Record)
	// Observe, if set, receives each group's commit latency and size.
	Observe func(d time.Duration, records int)
}

// Journal is the durable log.
type Journal struct {
	dir     string
	walDir  string
	lock    *os.File
	opts    Options
	reqs    chan *request
	applyCh chan committed
	applyWG sync.WaitGroup
	wg      sync.WaitGroup
	closeMu sync.RWMutex // guards closed and the send on reqs
	closed  bool
	snapMu  sync.Mutex // serialises SaveSnapshot and LoadSnapshot

	mu      sync.RWMutex // guards the fields below
	cursors map[string]int64
	lastSeq uint64
	snapSeq uint64   // records up to here are dropped (covered by the snapshot)
	segs    []uint64 // first seq of each segment, ascending; the last is being written

	// Owned by the commit goroutine.
	f        *os.File // the last segment, opened for appending
	curFirst uint64   // its name
	size     int64    // its size
	wbuf     []byte   // the group being written
	cbuf     []byte   // its cursor frame's payload
	failed   error    // a write or sync failed: appends fail until heal succeeds
	good     int64    // size of f after the last committed group
	lastHeal time.Time

	health   atomic.Pointer[error] // failed, for other goroutines (nil: writable)
	failures atomic.Uint64         // commits that failed
}

// healEvery bounds how often a failed journal tries to heal.
const healEvery = time.Second

type request struct {
	rec  *model.Record
	data []byte // rec encoded by the appender (see appendRecord)
	err  chan error
}

// encPool holds encoders. An encoder's buffer is reused only after its
// Append has returned, i.e. after the commit that wrote it ended.
var encPool = sync.Pool{New: func() any { return &encoder{buf: make([]byte, 0, 4096)} }}

// maxPooledBuf bounds the buffers kept for reuse.
const maxPooledBuf = 1 << 20

// maxWriteBuf bounds the group buffer kept between commits.
const maxWriteBuf = 32 << 20

// Open opens (creating if needed) the journal in dir.
func Open(dir string, opts Options) (*Journal, error) {
	walDir := filepath.Join(dir, "wal")
	if err := os.MkdirAll(walDir, 0o755); err != nil {
		return nil, fmt.Errorf("journal: data directory %s: %w", dir, err)
	}
	lock, err := lockFile(filepath.Join(walDir, "LOCK"))
	if err != nil {
		return nil, err
	}
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 4096
	}
	j := &Journal{dir: dir, walDir: walDir, lock: lock, opts: opts, reqs: make(chan *request, 4096), cursors: map[string]int64{}}
	if err := j.load(); err != nil {
		if j.f != nil {
			j.f.Close()
		}
		lock.Close()
		return nil, err
	}
	j.applyCh = make(chan committed, 1)
	j.applyWG.Add(1)
	go j.applyLoop()
	j.wg.Add(1)
	go func() {
		j.commitLoop()
		close(j.applyCh)
	}()
	return j, nil
}

// load migrates an old journal if there is one, scans the segments and
// opens the last one for appending.
func (j *Journal) load() error {
	removeTemps(j.walDir)
	os.Remove(filepath.Join(j.dir, "snapshot.tmp"))
	segs, err := listSegments(j.walDir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(j.dir, "journal.db")); err == nil {
		if len(segs) == 0 {
			err = migrateBolt(j.dir, j.walDir, j.opts.NoSync)
		} else {
			// A migration wrote the segment, then crashed.
			slog.Info("journal: finishing an interrupted migration of journal.db")
			err = finishMigration(j.dir, j.opts.NoSync)
		}
		if err != nil {
			return err
		}
		if segs, err = listSegments(j.walDir); err != nil {
			return err
		}
	}
	_, snapSeq, err := readSnapshot(j.dir, false)
	if err != nil {
		return err
	}
	j.snapSeq = snapSeq
	if len(segs) == 0 {
		j.lastSeq = snapSeq
		j.segs = []uint64{snapSeq + 1}
		return j.createSegment(snapSeq + 1)
	}
	next := segs[0]
	for i, first := range segs {
		path := filepath.Join(j.walDir, segName(first))
		if first != next {
			return fmt.Errorf("journal: segment %s starts at seq %d but the previous one ends at %d (missing or extra segment)", path, first, next-1)
		}
		if err := j.scan(path, &next, i == len(segs)-1); err != nil {
			return err
		}
	}
	j.lastSeq = next - 1
	if j.lastSeq < snapSeq {
		return fmt.Errorf("journal: the snapshot covers records up to seq %d but the log in %s ends at seq %d (records are missing)", snapSeq, j.walDir, j.lastSeq)
	}
	j.segs = segs
	last := filepath.Join(j.walDir, segName(segs[len(segs)-1]))
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	j.f, j.size, j.curFirst = f, st.Size(), segs[len(segs)-1]
	j.good = j.size
	if !j.opts.NoSync {
		// The truncation of a torn tail must be durable before appending.
		if err := datasync(f); err != nil {
			return fmt.Errorf("journal: sync %s: %w", last, err)
		}
	}
	return nil
}

// scan checks the frames of one segment and collects its cursors; *next
// is the seq its first record must have, and becomes the seq after its
// last committed record.
//
// A group is committed by the cursor frame that ends it. In the last
// segment, what follows the last cursor frame (a torn or partial group:
// a write that was never acknowledged) is cut off with a log message.
// Anywhere else, a bad frame is an error naming the file and offset.
func (j *Journal) scan(path string, next *uint64, last bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	r := newSegReader(f, path)
	var committed int64 // end of the last complete group
	seq := *next
	for {
		off := r.off
		typ, fseq, payload, err := r.next()
		if err == io.EOF {
			if committed == st.Size() {
				return nil
			}
			err = &corruptError{path, committed, fmt.Sprintf("%d records without the frame that commits their group", seq-*next)}
		}
		var ce *corruptError
		if errors.As(err, &ce) && last {
			slog.Warn("journal: cutting off a torn write at the end of the log", "file", path, "offset", committed,
				"dropped_bytes", st.Size()-committed, "dropped_records", seq-*next, "reason", fmt.Sprintf("at offset %d: %s", ce.offset, ce.reason))
			if err := os.Truncate(path, committed); err != nil {
				return fmt.Errorf("journal: cut torn tail of %s: %w", path, err)
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch typ {
		case frameRecord:
			if fseq != seq {
				return fmt.Errorf("journal: %s: record at offset %d has seq %d, expected %d", path, off, fseq, seq)
			}
			seq++
		case frameCursors:
			if err := mergeCursors(j.cursors, payload); err != nil {
				return fmt.Errorf("journal: %s: cursor frame at offset %d: %v", path, off, err)
			}
			committed, *next = r.off, seq
		}
	}
}

// createSegment creates the segment starting at first and makes it the
// one being written.
func (j *Journal) createSegment(first uint64) error {
	path := filepath.Join(j.walDir, segName(first))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: create segment: %w", err)
	}
	if !j.opts.NoSync {
		if err := syncDir(j.walDir); err != nil {
			f.Close()
			return err
		}
	}
	j.f, j.size, j.good, j.curFirst = f, 0, 0, first
	return nil
}

// Append makes rec durable and returns once it is. rec.Seq is assigned.
//
// The record is encoded here, on the caller's goroutine, so that encoding
// runs in parallel across appenders; the single committer only writes
// bytes. rec must not be modified until Append returns.
func (j *Journal) Append(ctx context.Context, rec *model.Record) error {
	e := encPool.Get().(*encoder)
	defer func() {
		// The string table is bounded by maxShared entries: keep it
		// whatever its size, or every batch of more than a few hundred
		// alerts would build a new one (most of the allocation of a
		// Kafka ingest burst).
		if cap(e.buf) <= maxPooledBuf {
			e.buf = e.buf[:0]
			clear(e.strs) // do not keep the caller's strings alive
			encPool.Put(e)
		}
	}()
	e.buf = e.buf[:0]
	data, err := e.encode(rec)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if len(data) > maxFrame {
		return fmt.Errorf("journal: record of %d bytes exceeds the limit of %d", len(data), maxFrame)
	}
	req := &request{rec: rec, data: data, err: make(chan error, 1)}
	j.closeMu.RLock()
	if j.closed {
		j.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case j.reqs <- req:
	case <-ctx.Done():
		j.closeMu.RUnlock()
		return ctx.Err()
	}
	j.closeMu.RUnlock()
	// Once queued, the record will be committed or fail; wait for the
	// outcome even if the caller goes away, so that "2xx" is never a lie
	// and an error is never reported for a record that did land.
	return <-req.err
}

func (j *Journal) commitLoop() {
	defer j.wg.Done()
	group := make([]*request, 0, j.opts.MaxGroup)
	for {
		req, ok := <-j.reqs
		if !ok {
			return
		}
		group = append(group[:0], req)
	fill:
		for len(group) < j.opts.MaxGroup {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					break fill
				}
				group = append(group, r)
			default:
				break fill
			}
		}
		j.commit(group)
	}
}

func (j *Journal) commit(group []*request) {
	start := time.Now()
	fail := func(err error) {
		for _, r := range group {
			r.err <- err
		}
	}
	first := j.lastSeq + 1 // lastSeq is only written by this goroutine
	j.wbuf = j.wbuf[:0]
	if j.failed != nil {
		if time.Since(j.lastHeal) < healEvery {
			fail(j.failed)
			return
		}
		j.lastHeal = time.Now()
		if err := j.heal(first); err != nil {
			fail(fmt.Errorf("%w (healing failed: %v)", j.failed, err))
			return
		}
		j.failed = nil
		j.health.Store(nil)
	}
	need := int64(0)
	for _, r := range group {
		need += frameHeader + int64(len(r.data))
	}
	// Roll when the group does not fit, unless the segment has no record
	// yet (a group larger than a segment gets a segment of its own).
	if j.curFirst <= j.lastSeq && j.size+need > segmentSize {
		if err := j.roll(first); err != nil {
			j.setFailed(fmt.Errorf("journal: roll segment: %w (appends are refused until it heals)", err))
			fail(j.failed)
			return
		}
	}
	recs := make([]*model.Record, len(group))
	var newCursors map[string]int64
	for i, r := range group {
		rec := r.rec
		recs[i] = rec
		rec.Seq = first + uint64(i)
		j.wbuf = appendFrame(j.wbuf, frameRecord, rec.Seq, r.data)
		if rec.Batch != nil {
			for k, off := range rec.Batch.Cursors {
				if cur, ok := j.cursorLocked(newCursors, k); ok && cur >= off {
					continue
				}
				if newCursors == nil {
					newCursors = map[string]int64{}
				}
				newCursors[k] = off
			}
		}
	}
	// The group ends with its cursor updates (often none): this frame
	// commits it, so a crash never keeps half a group.
	last := recs[len(recs)-1].Seq
	j.cbuf = appendCursors(j.cbuf[:0], newCursors)
	j.wbuf = appendFrame(j.wbuf, frameCursors, last, j.cbuf)
	n, err := j.f.Write(j.wbuf)
	j.size += int64(n)
	if err == nil && !j.opts.NoSync {
		err = datasync(j.f)
	}
	if cap(j.wbuf) > maxWriteBuf {
		j.wbuf = nil
	}
	if err != nil {
		// After a failed write or fsync the file's state is unknown:
		// refuse appends until heal has cut the segment back to what was
		// committed and made that durable, rather than risk acknowledging
		// records after a hole.
		j.setFailed(fmt.Errorf("journal: commit: %w (appends are refused until it heals)", err))
		fail(j.failed)
		return
	}
	j.good = j.size
	j.mu.Lock()
	for k, v := range newCursors {
		j.cursors[k] = v
	}
	j.lastSeq = last
	j.mu.Unlock()
	if j.opts.Observe != nil {
		j.opts.Observe(time.Since(start), len(recs))
	}
	// Hand the group to the applier: it runs OnCommit and releases the
	// appenders while this goroutine already writes the next group, so
	// the CPU work of applying overlaps the fsync of the next commit.
	j.applyCh <- committed{recs: recs, group: append([]*request(nil), group...)}
}

func (j *Journal) setFailed(err error) {
	j.failed = err
	j.health.Store(&err)
	j.failures.Add(1)
}

// Err reports why appends are refused (a write or sync failed and the
// journal has not healed yet), or nil.
func (j *Journal) Err() error {
	if e := j.health.Load(); e != nil {
		return *e
	}
	return nil
}

// Failures counts the commits that failed.
func (j *Journal) Failures() uint64 { return j.failures.Load() }

// heal makes the journal writable again after a failed write, sync or
// roll, once the cause (a full disk) is gone. The group that failed was
// never acknowledged: the segment is cut back to its last committed size
// and synced, and appends go on in a new segment starting at first. Any
// segment file at first holds only records that were never committed.
func (j *Journal) heal(first uint64) error {
	if j.f != nil {
		if err := j.f.Truncate(j.good); err != nil {
			return err
		}
		if !j.opts.NoSync {
			if err := datasync(j.f); err != nil {
				return err
			}
		}
		j.f.Close()
		j.f = nil
	}
	path := filepath.Join(j.walDir, segName(first))
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	j.mu.Lock()
	if n := len(j.segs); n > 0 && j.segs[n-1] == first {
		j.segs = j.segs[:n-1]
	}
	j.mu.Unlock()
	if err := j.roll2(first); err != nil {
		return err
	}
	j.good = 0
	return nil
}

// roll closes the segment being written (already synced) and starts a
// new one at first, beginning with every cursor so that older segments
// can be deleted. The cursor frame is written with the group.
func (j *Journal) roll(first uint64) error {
	if err := j.f.Close(); err != nil {
		return err
	}
	j.f = nil
	return j.roll2(first)
}

// roll2 creates the segment at first, registers it and puts the cursor
// frame that starts it into the group buffer.
func (j *Journal) roll2(first uint64) error {
	if err := j.createSegment(first); err != nil {
		return err
	}
	j.mu.Lock()
	j.segs = append(j.segs, first)
	if len(j.cursors) > 0 {
		j.wbuf = appendFrame(j.wbuf, frameCursors, first-1, appendCursors(nil, j.cursors))
	}
	j.mu.Unlock()
	return nil
}

type committed struct {
	recs  []*model.Record
	group []*request
}

// applyLoop runs OnCommit for committed groups, in order, then tells their
// appenders that the records are durable (and applied).
func (j *Journal) applyLoop() {
	defer j.applyWG.Done()
	for c := range j.applyCh {
		if j.opts.OnCommit != nil {
			j.opts.OnCommit(c.recs)
		}
		for _, r := range c.group {
			r.err <- nil
		}
	}
}

func (j *Journal) cursorLocked(pending map[string]int64, k string) (int64, bool) {
	if v, ok := pending[k]; ok {
		return v, true
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	v, ok := j.cursors[k]
	return v, ok
}

// Cursor implements model.CursorStore.
func (j *Journal) Cursor(key string) (int64, bool) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	v, ok := j.cursors[key]
	return v, ok
}

// LastSeq returns the sequence number of the last committed record.
func (j *Journal) LastSeq() uint64 {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.lastSeq
}

// Replay calls fn for every record with Seq > after, in order, up to the
// last record committed when Replay started. Records covered by the
// latest snapshot are not returned.
func (j *Journal) Replay(after uint64, fn func(*model.Record) error) error {
	j.mu.RLock()
	limit := j.lastSeq
	after = max(after, j.snapSeq)
	var files []*os.File
	var openErr error
	for i, first := range j.segs {
		if after >= limit {
			break
		}
		if i+1 < len(j.segs) && j.segs[i+1] <= after+1 {
			continue // every record in it is <= after
		}
		f, err := os.Open(filepath.Join(j.walDir, segName(first)))
		if err != nil {
			openErr = err
			break
		}
		// Opened under the lock: a concurrent truncate cannot remove
		// the file before it is read.
		files = append(files, f)
	}
	j.mu.RUnlock()
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if openErr != nil {
		return fmt.Errorf("journal: replay: %w", openErr)
	}
	for _, f := range files {
		r := newSegReader(f, f.Name())
		for {
			typ, seq, payload, err := r.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if typ != frameRecord || seq <= after {
				continue
			}
			rec, err := decodeRecord(payload)
			if err != nil {
				return fmt.Errorf("journal: record %d: %w", seq, err)
			}
			rec.Seq = seq
			if err := fn(rec); err != nil {
				return err
			}
			if seq >= limit {
				return nil
			}
		}
	}
	return nil
}

// Close stops accepting appends, commits what is queued and closes the
// files.
func (j *Journal) Close() error {
	j.closeMu.Lock()
	if j.closed {
		j.closeMu.Unlock()
		return nil
	}
	j.closed = true
	close(j.reqs)
	j.closeMu.Unlock()
	j.wg.Wait()
	j.applyWG.Wait()
	var err error
	if j.f != nil {
		err = j.f.Close()
	}
	if lerr := j.lock.Close(); err == nil {
		err = lerr
	}
	return err
}
