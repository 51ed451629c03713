package notify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The spool of a target is a directory of segment files
// (000000000001.spool, ...) holding one JSON record per line, and a
// cursor file with the sequence number of the last record delivered (or
// given up). Export appends and fsyncs before it returns; the delivery
// goroutine reads the records after the cursor in order, moves the cursor
// after each, and deletes the segments it is done with. After a crash the
// records after the cursor are sent again: at least once. The cursor is
// replaced by write and rename; a cursor lost in a power failure means
// more is sent again, never less.

const (
	segmentBytes = 4 << 20
	cursorFile   = "cursor"
	segSuffix    = ".spool"
)

// record is one spooled delivery.
type record struct {
	Seq      uint64          `json:"seq"`
	Key      string          `json:"key"`
	Type     string          `json:"type"`
	At       time.Time       `json:"at"`
	Incident string          `json:"incident"`
	Body     json.RawMessage `json:"body"`
}

// entry locates a record not yet delivered.
type entry struct {
	seg uint64
	off int64
	n   int
	seq uint64
}

type segment struct {
	id      uint64
	lastSeq uint64
}

type spool struct {
	dir string
	log *slog.Logger

	mu       sync.Mutex
	segs     []segment // in order; the last one is appended to
	w        *os.File  // the last segment
	wsize    int64
	pending  []entry
	pbytes   int64
	nextSeq  uint64
	cursor   uint64 // last seq delivered or given up
	closed   bool
	readers  map[uint64]*os.File // delivery goroutine only
	segLimit int64

	// mem keeps the records appended by this process (up to memLimit
	// bytes) so that delivering them does not read and decode them again.
	mem      map[uint64]*record
	memBytes int64
	// The cursor file is written at most every cursorEvery (and on close):
	// a crash sends again what was delivered meanwhile, never less.
	cursorSaved   uint64
	cursorSavedAt time.Time
}

const (
	memLimit    = 16 << 20
	cursorEvery = 200 * time.Millisecond
)

// encodeRecord appends rec as one JSON line; the body (valid JSON, no
// newline) is spliced in as it is rather than re-validated by the encoder.
func encodeRecord(dst []byte, rec *record) ([]byte, error) {
	body := rec.Body
	rec.Body = nil
	head, err := json.Marshal(rec)
	rec.Body = body
	if err != nil {
		return dst, err
	}
	if bytes.IndexByte(body, '\n') >= 0 {
		var c bytes.Buffer
		if err := json.Compact(&c, body); err != nil {
			return dst, err
		}
		body = c.Bytes()
	}
	// head ends with "body":null}
	head = bytes.TrimSuffix(head, []byte("null}"))
	dst = append(dst, head...)
	dst = append(dst, body...)
	return append(dst, '}', '\n'), nil
}

func segPath(dir string, id uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%012d%s", id, segSuffix))
}

// openSpool opens (or creates) the spool in dir and finds the records
// not yet delivered. A record cut short by a crash at the end of the
// last segment is removed (it was never acknowledged).
func openSpool(dir string, log *slog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &spool{dir: dir, log: log, readers: map[uint64]*os.File{}, segLimit: segmentBytes}
	b, err := os.ReadFile(filepath.Join(dir, cursorFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		c, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil {
			log.Warn("notify spool cursor unreadable: every spooled delivery is sent again", "file", filepath.Join(dir, cursorFile))
		}
		s.cursor = c
		s.cursorSaved = c
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), segSuffix)
		if !ok {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	maxSeq := s.cursor
	for i, id := range ids {
		last := i == len(ids)-1
		seg, err := s.scan(id, last)
		if err != nil {
			return nil, err
		}
		maxSeq = max(maxSeq, seg.lastSeq)
		if !last && seg.lastSeq <= s.cursor {
			os.Remove(segPath(dir, id))
			continue
		}
		s.segs = append(s.segs, seg)
	}
	s.nextSeq = maxSeq + 1
	if len(s.segs) == 0 {
		s.segs = []segment{{id: 1}}
	}
	last := s.segs[len(s.segs)-1]
	f, err := os.OpenFile(segPath(dir, last.id), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s.w, s.wsize = f, st.Size()
	return s, syncDir(dir)
}

// scan reads segment id, adding its records after the cursor to
// pending. A last segment whose end is not a complete record is cut back.
func (s *spool) scan(id uint64, last bool) (segment, error) {
	seg := segment{id: id}
	path := segPath(s.dir, id)
	f, err := os.Open(path)
	if err != nil {
		return seg, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var off int64
	for {
		line, err := r.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			return seg, err
		}
		var rec struct {
			Seq uint64 `json:"seq"`
		}
		complete := err == nil
		if !complete || json.Unmarshal(line, &rec) != nil || rec.Seq == 0 {
			if last && (!complete || isTail(r)) {
				s.log.Warn("notify spool: cutting an incomplete record left by a crash", "file", path, "offset", off)
				if err := os.Truncate(path, off); err != nil {
					return seg, err
				}
				break
			}
			s.log.Warn("notify spool: skipping a damaged record", "file", path, "offset", off)
			off += int64(len(line))
			continue
		}
		seg.lastSeq = rec.Seq
		if rec.Seq > s.cursor {
			s.pending = append(s.pending, entry{seg: id, off: off, n: len(line), seq: rec.Seq})
			s.pbytes += int64(len(line))
		}
		off += int64(len(line))
	}
	return seg, nil
}

func isTail(r *bufio.Reader) bool {
	_, err := r.Peek(1)
	return err == io.EOF
}

// append writes recs (seq is set here) and syncs them. It returns how
// many fit within limit pending bytes (the rest are not written).
func (s *spool) append(recs []record, limit int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errors.New("notify spool closed")
	}
	var buf bytes.Buffer
	var ents []entry
	written := 0
	pb := s.pbytes
	base := s.nextSeq
	for i := range recs {
		recs[i].Seq = base + uint64(written)
		b, err := encodeRecord(nil, &recs[i])
		if err != nil {
			return 0, err
		}
		if pb+int64(len(b)) > limit {
			break
		}
		if s.wsize+int64(buf.Len()) > 0 && s.wsize+int64(buf.Len()+len(b)) > s.segLimit {
			// Rotate: write what is buffered to the current segment first.
			if err := s.flush(&buf, &ents); err != nil {
				return 0, err
			}
			if err := s.rotate(); err != nil {
				return 0, err
			}
		}
		ents = append(ents, entry{seg: s.segs[len(s.segs)-1].id, off: s.wsize + int64(buf.Len()), n: len(b), seq: recs[i].Seq})
		if s.memBytes+int64(len(recs[i].Body)) <= memLimit {
			if s.mem == nil {
				s.mem = map[uint64]*record{}
			}
			r := recs[i]
			s.mem[r.Seq] = &r
			s.memBytes += int64(len(r.Body))
		}
		buf.Write(b)
		pb += int64(len(b))
		written++
	}
	if err := s.flush(&buf, &ents); err != nil {
		return 0, err
	}
	return written, nil
}

// flush writes buf to the current segment, syncs it and makes ents
// pending. s.mu is held.
func (s *spool) flush(buf *bytes.Buffer, ents *[]entry) error {
	if buf.Len() == 0 {
		return nil
	}
	n, err := s.w.Write(buf.Bytes())
	if err == nil {
		err = s.w.Sync()
	}
	if err != nil {
		if n > 0 {
			// Best effort: leave no partial record behind.
			s.w.Truncate(s.wsize)
		}
		return err
	}
	s.wsize += int64(n)
	for _, e := range *ents {
		s.pending = append(s.pending, e)
		s.pbytes += int64(e.n)
		s.nextSeq = e.seq + 1
		s.segs[len(s.segs)-1].lastSeq = e.seq
	}
	buf.Reset()
	*ents = (*ents)[:0]
	return nil
}

// rotate starts a new segment. s.mu is held.
func (s *spool) rotate() error {
	id := s.segs[len(s.segs)-1].id + 1
	f, err := os.OpenFile(segPath(s.dir, id), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.w.Close()
	s.w, s.wsize = f, 0
	s.segs = append(s.segs, segment{id: id})
	return nil
}

// head returns the first record not yet delivered.
func (s *spool) head() (entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 || s.closed {
		return entry{}, false
	}
	return s.pending[0], true
}

// depth returns the number and bytes of records not yet delivered.
func (s *spool) depth() (int, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending), s.pbytes
}

// read returns the record at e (delivery goroutine only).
func (s *spool) read(e entry) (*record, error) {
	s.mu.Lock()
	r := s.mem[e.seq]
	s.mu.Unlock()
	if r != nil {
		return r, nil
	}
	f := s.readers[e.seg]
	if f == nil {
		var err error
		if f, err = os.Open(segPath(s.dir, e.seg)); err != nil {
			return nil, err
		}
		s.readers[e.seg] = f
	}
	b := make([]byte, e.n)
	if _, err := f.ReadAt(b, e.off); err != nil {
		return nil, fmt.Errorf("%s at %d: %w", segPath(s.dir, e.seg), e.off, err)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s at %d: %w", segPath(s.dir, e.seg), e.off, err)
	}
	if rec.Seq != e.seq {
		return nil, fmt.Errorf("%s at %d: record %d where %d was expected", segPath(s.dir, e.seg), e.off, rec.Seq, e.seq)
	}
	return &rec, nil
}

// done moves the cursor past e, the head (delivery goroutine only), and
// deletes the segments it is done with.
func (s *spool) done(e entry) error {
	s.mu.Lock()
	if len(s.pending) > 0 && s.pending[0].seq == e.seq {
		s.pending = s.pending[1:]
		s.pbytes -= int64(e.n)
		if len(s.pending) == 0 {
			s.pending = nil // let the array go
		}
	}
	s.cursor = e.seq
	if r := s.mem[e.seq]; r != nil {
		delete(s.mem, e.seq)
		s.memBytes -= int64(len(r.Body))
	}
	var drop []uint64
	for len(s.segs) > 1 && s.segs[0].lastSeq <= e.seq {
		drop = append(drop, s.segs[0].id)
		s.segs = s.segs[1:]
	}
	s.mu.Unlock()
	var err error
	if len(drop) > 0 || time.Since(s.cursorSavedAt) >= cursorEvery {
		err = s.saveCursor(e.seq)
	}
	for _, id := range drop {
		if f := s.readers[id]; f != nil {
			f.Close()
			delete(s.readers, id)
		}
		if rerr := os.Remove(segPath(s.dir, id)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
			err = rerr
		}
	}
	return err
}

// saveCursor writes the cursor file (delivery goroutine, or close).
func (s *spool) saveCursor(seq uint64) error {
	if seq == s.cursorSaved {
		return nil
	}
	s.cursorSaved, s.cursorSavedAt = seq, time.Now()
	return writeFileAtomic(filepath.Join(s.dir, cursorFile), []byte(strconv.FormatUint(seq, 10)+"\n"))
}

// flushCursor saves the cursor if the last deliveries did not (the
// delivery goroutine calls it when the spool is empty).
func (s *spool) flushCursor() error {
	s.mu.Lock()
	c := s.cursor
	s.mu.Unlock()
	return s.saveCursor(c)
}

func (s *spool) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.cursor != s.cursorSaved {
		writeFileAtomic(filepath.Join(s.dir, cursorFile), []byte(strconv.FormatUint(s.cursor, 10)+"\n"))
	}
	s.closed = true
	s.w.Close()
	for id, f := range s.readers {
		f.Close()
		delete(s.readers, id)
	}
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
