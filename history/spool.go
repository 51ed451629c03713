package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The spool holds the rows not yet written to the store, durably, so that
// a store that is down, slow or refusing loses nothing and stalls nothing:
// the Recorder appends to it, a shipper reads it in order and acknowledges
// what the store took. Segment files NNNNNNNNNNNNNNNNNNNN.spool (named by
// their number) hold records framed as [length uint32][CRC-32C
// uint32][Batch: binary, see spool_codec.go; gob in the spools of earlier
// releases, still read]; the file "cursor" holds the segment and offset
// shipped so far. A crash leaves at most a torn last record (cut
// off on open) and a cursor behind what was shipped (those rows are sent
// again with Batch.Check, and the store skips them).

// ErrSpoolFull is returned by append when the spool holds MaxBytes.
var ErrSpoolFull = errors.New("history: spool full")

const spoolSegmentBytes = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type spoolPos struct {
	seg uint64
	off int64
}

type spool struct {
	dir      string
	maxBytes int64

	mu      sync.Mutex
	segs    []uint64 // segment numbers in order; the last is written
	sizes   map[uint64]int64
	w       *os.File
	read    spoolPos // next record to ship
	resent  spoolPos // records before this were read before a restart: maybe shipped
	pending int64    // bytes not yet shipped
	rows    int64    // rows not yet shipped (approximate after a restart)
}

func openSpool(dir string, maxBytes int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("history: spool: %w", err)
	}
	s := &spool{dir: dir, maxBytes: maxBytes, sizes: map[uint64]int64{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("history: spool: %w", err)
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".spool")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		s.segs = append(s.segs, n)
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i] < s.segs[j] })
	if b, err := os.ReadFile(filepath.Join(dir, "cursor")); err == nil {
		var seg uint64
		var off int64
		if _, err := fmt.Sscanf(string(b), "%d %d", &seg, &off); err == nil {
			s.read = spoolPos{seg, off}
		}
	}
	// Segments wholly before the cursor are shipped.
	for len(s.segs) > 0 && s.segs[0] < s.read.seg {
		os.Remove(s.segPath(s.segs[0]))
		s.segs = s.segs[1:]
	}
	if len(s.segs) == 0 {
		s.segs = []uint64{max(s.read.seg, 1)}
	}
	if s.read.seg < s.segs[0] {
		s.read = spoolPos{s.segs[0], 0}
	}
	for i, n := range s.segs {
		size, err := s.validLength(n, i == len(s.segs)-1)
		if err != nil {
			return nil, err
		}
		s.sizes[n] = size
	}
	last := s.segs[len(s.segs)-1]
	w, err := os.OpenFile(s.segPath(last), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("history: spool: %w", err)
	}
	if _, err := w.Seek(s.sizes[last], io.SeekStart); err != nil {
		w.Close()
		return nil, err
	}
	s.w = w
	for _, n := range s.segs {
		s.pending += s.sizes[n]
	}
	if s.read.seg == s.segs[0] {
		s.pending -= min(s.read.off, s.sizes[s.segs[0]])
	}
	s.resent = spoolPos{last, s.sizes[last]}
	return s, nil
}

func (s *spool) segPath(n uint64) string { return filepath.Join(s.dir, fmt.Sprintf("%020d.spool", n)) }

// validLength returns the length of the valid records of a segment; a torn
// or damaged tail of the last segment is cut off.
func (s *spool) validLength(n uint64, last bool) (int64, error) {
	f, err := os.OpenFile(s.segPath(n), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, fmt.Errorf("history: spool: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, err
	}
	off := int64(0)
	for {
		_, next, ok := decodeRecord(data, off)
		if !ok {
			break
		}
		off = next
	}
	if off < int64(len(data)) {
		if !last {
			// A damaged middle segment: keep what is readable, skip the rest.
			return off, nil
		}
		if err := f.Truncate(off); err != nil {
			return 0, err
		}
	}
	return off, nil
}

func decodeRecord(data []byte, off int64) (payload []byte, next int64, ok bool) {
	if int64(len(data))-off < 8 {
		return nil, off, false
	}
	n := int64(binary.LittleEndian.Uint32(data[off:]))
	sum := binary.LittleEndian.Uint32(data[off+4:])
	if int64(len(data))-off-8 < n {
		return nil, off, false
	}
	p := data[off+8 : off+8+n]
	if crc32.Checksum(p, castagnoli) != sum {
		return nil, off, false
	}
	return p, off + 8 + n, true
}

// putRecordHeader fills in the length and checksum of rec (8 bytes of
// header, then the payload).
func putRecordHeader(rec []byte) {
	binary.LittleEndian.PutUint32(rec, uint32(len(rec)-8))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(rec[8:], castagnoli))
}

// append writes b at the end of the spool (not synced: see sync).
func (s *spool) append(b *Batch) error {
	rec := appendBatch(make([]byte, 8, 8+64+200*b.Len()), b)
	if len(rec)-8 > math.MaxUint32 {
		return fmt.Errorf("history: spool: record of %d bytes", len(rec)-8)
	}
	putRecordHeader(rec)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending+int64(len(rec)) > s.maxBytes {
		return ErrSpoolFull
	}
	last := s.segs[len(s.segs)-1]
	if s.sizes[last] > 0 && s.sizes[last]+int64(len(rec)) > spoolSegmentBytes {
		if err := s.w.Sync(); err != nil {
			return err
		}
		s.w.Close()
		last++
		w, err := os.OpenFile(s.segPath(last), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("history: spool: %w", err)
		}
		s.w = w
		s.segs = append(s.segs, last)
		s.sizes[last] = 0
	}
	if _, err := s.w.Write(rec); err != nil {
		// Cut a partial record off again, so the segment stays readable.
		s.w.Truncate(s.sizes[last])
		s.w.Seek(s.sizes[last], io.SeekStart)
		return fmt.Errorf("history: spool: %w", err)
	}
	s.sizes[last] += int64(len(rec))
	s.pending += int64(len(rec))
	s.rows += int64(b.Len())
	return nil
}

// sync makes what was appended durable.
func (s *spool) sync() error {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	return w.Sync()
}

// next reads up to maxRows rows (at least one record, if any) from the
// read position on, merged into one batch, and returns the position after
// them; nil if the spool is empty.
func (s *spool) next(maxRows int) (*Batch, spoolPos, error) {
	return s.nextFrom(nil, maxRows)
}

// nextFrom is next from *from (a position returned by next, not yet
// acknowledged) instead of the read position.
func (s *spool) nextFrom(from *spoolPos, maxRows int) (*Batch, spoolPos, error) {
	s.mu.Lock()
	pos := s.read
	if from != nil {
		pos = *from
	}
	start := pos
	segs := append([]uint64(nil), s.segs...)
	sizes := map[uint64]int64{}
	for _, n := range segs {
		sizes[n] = s.sizes[n]
	}
	resent := s.resent
	// Room for the rows at once (growing a slice of 50k rows copies it).
	out := &Batch{Alerts: make([]AlertRow, 0, min(int64(maxRows), max(s.rows, 0)))}
	s.mu.Unlock()
	for _, n := range segs {
		if n < pos.seg {
			continue
		}
		if n > pos.seg {
			pos = spoolPos{n, 0}
		}
		end := sizes[n]
		if pos.off >= end {
			continue
		}
		f, err := os.Open(s.segPath(n))
		if err != nil {
			return nil, pos, err
		}
		var hdr [8]byte
		for pos.off < end && out.Len() < maxRows {
			if end-pos.off < 8 {
				pos.off = end
				break
			}
			if _, err := f.ReadAt(hdr[:], pos.off); err != nil {
				f.Close()
				return nil, pos, fmt.Errorf("history: spool: read %s: %w", s.segPath(n), err)
			}
			size := int64(binary.LittleEndian.Uint32(hdr[:]))
			if size > end-pos.off-8 {
				pos.off = end // damaged: skip the rest of this segment
				break
			}
			p := make([]byte, size)
			if _, err := f.ReadAt(p, pos.off+8); err != nil {
				f.Close()
				return nil, pos, fmt.Errorf("history: spool: read %s: %w", s.segPath(n), err)
			}
			if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
				pos.off = end
				break
			}
			check, err := decodeBatchInto(p, out)
			if err != nil {
				f.Close()
				return nil, pos, fmt.Errorf("history: spool: decode %s at %d: %w", s.segPath(n), pos.off, err)
			}
			if check || spoolBefore(pos, resent) {
				out.Check = true
			}
			pos.off += 8 + size
		}
		f.Close()
		if out.Len() >= maxRows {
			break
		}
	}
	if out.Len() == 0 && pos == start {
		return nil, pos, nil
	}
	return out, pos, nil
}

func spoolBefore(a, b spoolPos) bool { return a.seg < b.seg || a.seg == b.seg && a.off < b.off }

// ack records that everything before pos was written to the store.
func (s *spool) ack(pos spoolPos, rows int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// bytes acknowledged
	var done int64
	for _, n := range s.segs {
		switch {
		case n < s.read.seg || n > pos.seg:
		case n == s.read.seg && n == pos.seg:
			done += pos.off - s.read.off
		case n == s.read.seg:
			done += s.sizes[n] - s.read.off
		case n == pos.seg:
			done += pos.off
		default:
			done += s.sizes[n]
		}
	}
	s.read = pos
	s.pending = max(s.pending-done, 0)
	s.rows = max(s.rows-int64(rows), 0)
	if s.pending == 0 {
		s.rows = 0
	}
	tmp := filepath.Join(s.dir, "cursor.tmp")
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %d\n", pos.seg, pos.off), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "cursor")); err != nil {
		return err
	}
	// Remove the segments wholly shipped (never the one being written).
	for len(s.segs) > 1 && s.segs[0] < pos.seg {
		os.Remove(s.segPath(s.segs[0]))
		delete(s.sizes, s.segs[0])
		s.segs = s.segs[1:]
	}
	return nil
}

// backlog returns the bytes and rows not yet shipped.
func (s *spool) backlog() (bytes, rows int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending, s.rows
}

func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return nil
	}
	err := s.w.Sync()
	if cerr := s.w.Close(); err == nil {
		err = cerr
	}
	s.w = nil
	return err
}

// markRetry makes the records from the read position on be sent with
// Batch.Check: a failed write may have been stored in part.
func (s *spool) markRetry() {
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.segs[len(s.segs)-1]
	s.resent = spoolPos{last, s.sizes[last]}
}
