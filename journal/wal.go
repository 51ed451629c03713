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
	"slices"
	"strconv"
	"strings"
)

// Segment files and frames.
//
// The log is a sequence of segment files in <dir>/wal, each named by the
// sequence number of its first record (20 decimal digits, ".seg"). A
// segment is a sequence of frames:
//
//	frame   = length:u32 crc:u32 type:u8 seq:u64 payload   (little endian)
//	crc     = CRC-32C (Castagnoli) of type, seq and payload
//	type 1  = a record: seq is its sequence number, payload its encoding
//	          (see codec.go)
//	type 2  = cursor updates: payload = n:uvarint (key:uvarint-length
//	          bytes, offset:varint)*; seq is the last record before it
//
// A group commit is one write of its record frames followed by one cursor
// frame (with the cursors the group moved, often none), then one
// fdatasync. The cursor frame commits the group: records after the last
// cursor frame of the log were never acknowledged and are dropped on
// Open. Every segment after a roll starts with a cursor frame holding all
// cursors, so deleting older segments never loses a cursor.

const (
	frameHeader  = 17
	frameRecord  = 1
	frameCursors = 2
	// maxFrame bounds a frame's payload: a larger length is corruption.
	maxFrame = 1 << 30
	segExt   = ".seg"
)

// segmentSize is the size at which the log rolls to a new segment (a
// variable so that tests can use small segments).
var segmentSize int64 = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func segName(first uint64) string { return fmt.Sprintf("%020d%s", first, segExt) }

// appendFrame appends one frame to dst.
func appendFrame(dst []byte, typ byte, seq uint64, payload []byte) []byte {
	start := len(dst)
	var h [frameHeader]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(payload)))
	h[8] = typ
	binary.LittleEndian.PutUint64(h[9:], seq)
	dst = append(dst, h[:]...)
	dst = append(dst, payload...)
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(dst[start+8:], castagnoli))
	return dst
}

func appendCursors(dst []byte, cursors map[string]int64) []byte {
	keys := make([]string, 0, len(cursors))
	for k := range cursors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		dst = binary.AppendVarint(dst, cursors[k])
	}
	return dst
}

// mergeCursors decodes a cursor frame into m, keeping the larger offset.
func mergeCursors(m map[string]int64, p []byte) error {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)) {
		return errors.New("bad cursor count")
	}
	p = p[k:]
	for range n {
		l, k := binary.Uvarint(p)
		if k <= 0 || l > uint64(len(p)-k) {
			return errors.New("bad cursor key")
		}
		key := string(p[k : k+int(l)])
		p = p[k+int(l):]
		off, k := binary.Varint(p)
		if k <= 0 {
			return errors.New("bad cursor offset")
		}
		p = p[k:]
		if cur, ok := m[key]; !ok || off > cur {
			m[key] = off
		}
	}
	if len(p) != 0 {
		return errors.New("trailing bytes in cursor frame")
	}
	return nil
}

// corruptError is a frame that cannot be read: a torn write at the tail
// of the last segment, corruption anywhere else.
type corruptError struct {
	path   string
	offset int64
	reason string
}

func (e *corruptError) Error() string {
	return fmt.Sprintf("journal: %s: corrupt frame at offset %d: %s", e.path, e.offset, e.reason)
}

// segReader reads the frames of one segment file.
type segReader struct {
	path string
	r    *bufio.Reader
	off  int64
	buf  []byte
}

func newSegReader(f *os.File, path string) *segReader {
	return &segReader{path: path, r: bufio.NewReaderSize(f, 1<<20)}
}

// next returns the next frame; payload is valid until the next call. At
// the clean end of the file it returns io.EOF; a partial or corrupt frame
// gives a *corruptError at the frame's offset.
func (s *segReader) next() (typ byte, seq uint64, payload []byte, err error) {
	var h [frameHeader]byte
	n, err := io.ReadFull(s.r, h[:])
	if err == io.EOF {
		return 0, 0, nil, io.EOF
	}
	if err == io.ErrUnexpectedEOF {
		return 0, 0, nil, &corruptError{s.path, s.off, fmt.Sprintf("partial frame header (%d of %d bytes)", n, frameHeader)}
	}
	if err != nil {
		return 0, 0, nil, fmt.Errorf("journal: read %s: %w", s.path, err)
	}
	length := binary.LittleEndian.Uint32(h[0:])
	typ, seq = h[8], binary.LittleEndian.Uint64(h[9:])
	if typ != frameRecord && typ != frameCursors {
		return 0, 0, nil, &corruptError{s.path, s.off, fmt.Sprintf("unknown frame type %d", typ)}
	}
	if length > maxFrame {
		return 0, 0, nil, &corruptError{s.path, s.off, fmt.Sprintf("frame length %d too large", length)}
	}
	if cap(s.buf) < int(length) {
		s.buf = make([]byte, length)
	}
	payload = s.buf[:length]
	if n, err := io.ReadFull(s.r, payload); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return 0, 0, nil, &corruptError{s.path, s.off, fmt.Sprintf("partial frame (%d of %d payload bytes)", n, length)}
		}
		return 0, 0, nil, fmt.Errorf("journal: read %s: %w", s.path, err)
	}
	crc := crc32.Update(crc32.Checksum(h[8:], castagnoli), castagnoli, payload)
	if crc != binary.LittleEndian.Uint32(h[4:]) {
		return 0, 0, nil, &corruptError{s.path, s.off, "CRC mismatch"}
	}
	s.off += frameHeader + int64(length)
	return typ, seq, payload, nil
}

// listSegments returns the first sequence numbers of the segments in
// walDir, ascending.
func listSegments(walDir string) ([]uint64, error) {
	ents, err := os.ReadDir(walDir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var segs []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segExt) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segExt), 10, 64)
		if err != nil || len(name) != 20+len(segExt) {
			return nil, fmt.Errorf("journal: unexpected file %s in %s", name, walDir)
		}
		segs = append(segs, first)
	}
	slices.Sort(segs)
	return segs, nil
}

// syncDir makes the directory's entries (created, renamed, removed files)
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("journal: sync directory %s: %w", dir, err)
	}
	return nil
}

// removeTemps removes files a crash left half-written.
func removeTemps(dir string) {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	for _, m := range matches {
		os.Remove(m)
	}
}
