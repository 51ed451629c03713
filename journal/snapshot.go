package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The snapshot file <dir>/snapshot is
//
//	magic "siftsnp1" | seq:u64 | crc:u32 (CRC-32C of state) | state
//
// It is replaced atomically: written to snapshot.tmp, synced, renamed,
// and the directory synced.

const snapMagic = "siftsnp1"
const snapHeader = len(snapMagic) + 8 + 4

func writeSnapshot(dir string, seq uint64, write func(io.Writer) error, noSync bool) error {
	path := filepath.Join(dir, "snapshot")
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	// The state streams through a buffer and the checksum; the header's
	// CRC is filled in once the state is written.
	h := make([]byte, 0, snapHeader)
	h = append(h, snapMagic...)
	h = binary.LittleEndian.AppendUint64(h, seq)
	h = binary.LittleEndian.AppendUint32(h, 0)
	bw := bufio.NewWriterSize(f, 1<<20)
	_, err = bw.Write(h)
	crc := crc32.New(castagnoli)
	if err == nil {
		err = write(io.MultiWriter(bw, crc))
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		_, err = f.WriteAt(binary.LittleEndian.AppendUint32(nil, crc.Sum32()), int64(len(snapMagic)+8))
	}
	if err == nil && !noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil && !noSync {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// readSnapshot returns the snapshot in dir; no file is no snapshot.
func readSnapshot(dir string, withState bool) (state []byte, seq uint64, err error) {
	path := filepath.Join(dir, "snapshot")
	var data []byte
	if withState {
		data, err = os.ReadFile(path)
	} else {
		data, err = readHead(path, snapHeader)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("journal: read snapshot: %w", err)
	}
	if len(data) < snapHeader || string(data[:len(snapMagic)]) != snapMagic {
		return nil, 0, fmt.Errorf("journal: %s is not a snapshot file (bad header)", path)
	}
	seq = binary.LittleEndian.Uint64(data[len(snapMagic):])
	if !withState {
		return nil, seq, nil
	}
	state = data[snapHeader:]
	if crc32.Checksum(state, castagnoli) != binary.LittleEndian.Uint32(data[len(snapMagic)+8:]) {
		return nil, 0, fmt.Errorf("journal: %s: CRC mismatch (corrupt snapshot)", path)
	}
	return state, seq, nil
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := f.Read(b)
	if m == n {
		err = nil
	}
	return b[:m], err
}

// SaveSnapshot stores state as of seq and drops the records it covers:
// Replay never returns them again, and segments holding only such records
// are deleted.
func (j *Journal) SaveSnapshot(seq uint64, state []byte) error {
	return j.SaveSnapshotTo(seq, bytesState(state))
}

// bytesState writes a state already encoded.
func bytesState(state []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(state)
		return err
	}
}

// SaveSnapshotTo is SaveSnapshot with the state written by write as it is
// encoded, so that a large state is never held whole in memory.
func (j *Journal) SaveSnapshotTo(seq uint64, write func(io.Writer) error) error {
	j.snapMu.Lock()
	defer j.snapMu.Unlock()
	if err := writeSnapshot(j.dir, seq, write, j.opts.NoSync); err != nil {
		return fmt.Errorf("journal: save snapshot: %w", err)
	}
	return j.truncate(seq)
}

// truncate deletes the segments whose records all have Seq <= upTo. The
// segment being written is never deleted.
func (j *Journal) truncate(upTo uint64) error {
	j.mu.Lock()
	if upTo > j.snapSeq {
		j.snapSeq = upTo
	}
	var drop []uint64
	for len(j.segs) > 1 && j.segs[1]-1 <= upTo {
		drop = append(drop, j.segs[0])
		j.segs = j.segs[1:]
	}
	j.mu.Unlock()
	if len(drop) == 0 {
		return nil
	}
	for _, first := range drop {
		if err := os.Remove(filepath.Join(j.walDir, segName(first))); err != nil {
			return fmt.Errorf("journal: truncate: %w", err)
		}
	}
	if !j.opts.NoSync {
		return syncDir(j.walDir)
	}
	return nil
}

// LoadSnapshot returns the latest snapshot and the sequence it covers.
func (j *Journal) LoadSnapshot() (state []byte, seq uint64, err error) {
	j.snapMu.Lock()
	defer j.snapMu.Unlock()
	return readSnapshot(j.dir, true)
}
