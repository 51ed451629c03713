package history

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Embedded is the history store used when no ClickHouse is configured: a
// directory of append-only segment files, one per UTC day and table,
//
//	DIR/alerts/2026-12-07.seg      alert rows whose Time is on that day
//	DIR/incidents/2026-12-07.seg   incident rows whose Time is on that day
//	DIR/segments.idx               size and row count of every segment
//
// A segment starts with an 8-byte magic ("SIFTHA\x00\x01" for alerts,
// "SIFTHI\x00\x01" for incidents) followed by frames, one per Write and
// segment (at most embFrameRows rows each):
//
//	length   uint32 LE   bytes of payload
//	crc      uint32 LE   CRC-32C of payload
//	hcrc     uint32 LE   CRC-32C of the 8 bytes before it
//	payload:
//	  uvarint n          rows
//	  n × uint64 LE      row IDs (read alone to load a day's IDs for dedup)
//	  uvarint m          strings of the frame's dictionary, numbered 1..m
//	  m × (uvarint len, bytes)
//	  n rows             every string as its uvarint dictionary number (0 is
//	                     the empty string), times in seconds (see below)
//
// An alert row is: uvarint seconds since the start of the day, varint
// Time-StartsAt, the numbers of Fingerprint, AlertName, Service, Severity,
// Status, Kind, Incident, Team and Priority, uvarint Notifications, uvarint
// flags (1: Flapping), uvarint number of labels and the numbers of each key
// and value. An incident row is: uvarint seconds since the start of the day,
// varint Time-OpenedAt, the numbers of Incident, Event, Detail, Actor,
// Fingerprint, AlertName, uvarint number of Services and their numbers, the
// numbers of RootCause, Signature, Title, Severity, Team, Category,
// Priority and Problem, uvarint AlertCount.
//
// Times are stored in whole seconds, as ClickHouse's DateTime does, so both
// stores give the same answers: Time, StartsAt and OpenedAt are truncated to
// the second on write; Time is clamped to DateTime's range (1970-01-01 to
// 2106-02-07) and a StartsAt or OpenedAt that is zero or before 1970 is
// stored as 0 and read back as the zero time. Query bounds are truncated to
// the second too (ClickHouse compares with toDateTime(unix seconds)).
//
// Rows are unique by ID: Write skips a row whose ID is stored already,
// whether or not Batch.Check is set. An ID hashes the event's time, so a row
// always lands in the same day's segment; the IDs of a day are loaded from
// its segment the first time this process writes to that day and kept in a
// cache bounded by embMaxCachedIDs (least recently used days are dropped
// and loaded again when needed). Counts is the number of rows stored, equal
// to ClickHouse's uniqExact(event_id) as long as one ID is never given two
// times on different days.
//
// A crash can leave a torn frame at the end of a segment: cut short, a last
// frame whose checksum fails, or zeros after a power loss. Open cuts it off
// (that write had not returned, or its rows are written again from the
// Recorder's spool). Any other damage is an error naming the file and
// offset: of Open for what it reads, else of the queries and writes that
// read the segment. Open reads only what segments.idx does
// not cover (frames appended since it was last saved), so it is quick even
// over a year of history. Queries read only the segments of the days they
// overlap (Incidents reads every incident segment, since an incident's
// facts come from all its rows), several at a time.
//
// Write is meant to be called from one goroutine (calls are serialised);
// queries may run concurrently with it and with each other: the writer
// appends beyond the sizes queries read up to and publishes the new sizes
// of all the segments of a Write at once when they are synced, so a query
// sees whole Writes. One process at a time may open a directory.
type Embedded struct {
	dir string

	mu     sync.RWMutex // guards segs and closed
	segs   map[embSegKey]embSegment
	closed bool

	wmu        sync.Mutex // serialises Write and Close; guards what follows
	ids        map[embSegKey]*embIDSet
	idCount    int
	maxIDs     int
	tick       uint64
	dirty      map[embSegKey]bool // bytes after the committed size may be on disk
	enc        embEncoder
	indexedAt  time.Time
	unindexed  int64 // bytes appended since segments.idx was saved
	indexStale bool
	lock       *os.File // flock on dir/LOCK: one process at a time
}

// ErrLocked: another process has the embedded store open.
var ErrLocked = errors.New("history: the embedded store is in use by another process")

var _ Store = (*Embedded)(nil)

const (
	embDaySecs      = 86400
	embHeaderLen    = 12
	embMagicLen     = 8
	embFrameRows    = 1 << 16
	embMaxFrame     = 1 << 30
	embMaxCachedIDs = 2 << 20 // at most ~40 MB of dedup sets
	embIndexName    = "segments.idx"
	embIndexMagic   = "SIFTHX\x00\x01"
	embIndexEvery   = 30 * time.Second
	embIndexBytes   = 64 << 20
	embMaxTime      = math.MaxUint32 // DateTime's last second
)

type embTable uint8

const (
	embAlerts embTable = iota
	embIncidents
)

var (
	embTableDirs = [...]string{"alerts", "incidents"}
	embMagic     = [...]string{"SIFTHA\x00\x01", "SIFTHI\x00\x01"}
	embCRC       = crc32.MakeTable(crc32.Castagnoli)
	errEmbClosed = errors.New("history: embedded store is closed")
)

type embSegKey struct {
	t   embTable
	day int64 // days since the Unix epoch
}

// embSegment is what a segment holds: whole frames up to size.
type embSegment struct {
	size  int64
	count int64 // rows
}

type embIDSet struct {
	ids  map[uint64]struct{}
	used uint64
}

// OpenEmbedded opens (creating it if needed) the embedded store in dir.
func OpenEmbedded(dir string) (*Embedded, error) {
	for _, t := range embTableDirs {
		if err := os.MkdirAll(filepath.Join(dir, t), 0o755); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	opened := false
	defer func() {
		if !opened {
			lock.Close()
		}
	}()
	e := &Embedded{
		lock:      lock,
		dir:       dir,
		segs:      map[embSegKey]embSegment{},
		ids:       map[embSegKey]*embIDSet{},
		maxIDs:    embMaxCachedIDs,
		dirty:     map[embSegKey]bool{},
		indexedAt: time.Now(),
	}
	idx := e.readIndex()
	changed := idx == nil
	for t := range embTableDirs {
		ents, err := os.ReadDir(filepath.Join(dir, embTableDirs[t]))
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		for _, de := range ents {
			day, ok := embParseDay(de.Name())
			if !ok || !de.Type().IsRegular() {
				continue
			}
			k := embSegKey{embTable(t), day}
			fi, err := de.Info()
			if err != nil {
				return nil, fmt.Errorf("history: %w", err)
			}
			known, ok := idx[k]
			if ok && known.size == fi.Size() {
				e.segs[k] = known
				continue
			}
			if !ok || known.size > fi.Size() {
				known = embSegment{}
			}
			seg, err := e.recoverSegment(k, known, fi.Size())
			if err != nil {
				return nil, err
			}
			e.segs[k] = seg
			changed = true
		}
	}
	if len(idx) != len(e.segs) {
		changed = true
	}
	if err := embSyncDir(dir); err != nil {
		return nil, err
	}
	if changed {
		if err := e.saveIndex(); err != nil {
			return nil, err
		}
	}
	opened = true
	return e, nil
}

// Kind implements Store.
func (e *Embedded) Kind() string { return "embedded" }

// Close implements Store: it saves segments.idx. Queries after Close fail.
func (e *Embedded) Close() error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.ids, e.idCount = nil, 0
	defer e.lock.Close()
	if e.indexStale {
		return e.saveIndex()
	}
	return nil
}

func (e *Embedded) segPath(k embSegKey) string {
	return filepath.Join(e.dir, embTableDirs[k.t], embDayName(k.day))
}

func embDayName(day int64) string {
	return time.Unix(day*embDaySecs, 0).UTC().Format(time.DateOnly) + ".seg"
}

func embParseDay(name string) (int64, bool) {
	s, ok := strings.CutSuffix(name, ".seg")
	if !ok {
		return 0, false
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	day := embFloorDiv(t.Unix(), embDaySecs)
	return day, embDayName(day) == name
}

func embFloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// embTime is the stored second of an event time (clamped to DateTime).
func embTime(t time.Time) int64 { return min(max(t.Unix(), 0), embMaxTime) }

// embOptTime is the stored second of StartsAt or OpenedAt: 0 for the zero
// time and times before 1970, as ClickHouse stores them.
func embOptTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return min(max(t.Unix(), 0), embMaxTime)
}

func embUnix(s int64) time.Time { return time.Unix(s, 0).UTC() }

// embOptUnix reads back embOptTime (and ClickHouse's zero DateTime).
func embOptUnix(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// embRange is [since, until) in stored seconds, as ClickHouse compares.
func embRange(since, until time.Time) (int64, int64) {
	return max(since.Unix(), 0), max(until.Unix(), 0)
}

func embSyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	err = d.Sync()
	d.Close()
	if err != nil {
		return fmt.Errorf("history: sync %s: %w", dir, err)
	}
	return nil
}

func embDamage(path string, off int64, format string, args ...any) error {
	return fmt.Errorf("history: %s: damaged at offset %d: %s", path, off, fmt.Sprintf(format, args...))
}

// ---- segments.idx

func (e *Embedded) readIndex() map[embSegKey]embSegment {
	data, err := os.ReadFile(filepath.Join(e.dir, embIndexName))
	if err != nil || len(data) < len(embIndexMagic)+4 || string(data[:len(embIndexMagic)]) != embIndexMagic {
		return nil
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, embCRC) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil
	}
	d := embDec{p: body[len(embIndexMagic):]}
	n := d.uv()
	if n > uint64(len(d.p)) {
		return nil
	}
	idx := make(map[embSegKey]embSegment, n)
	for range n {
		t := d.uv()
		day := d.sv()
		size, count := d.uv(), d.uv()
		if d.err || t >= uint64(len(embTableDirs)) || size > math.MaxInt64 || count > math.MaxInt64 {
			return nil
		}
		idx[embSegKey{embTable(t), day}] = embSegment{int64(size), int64(count)}
	}
	if d.err || len(d.p) != 0 {
		return nil
	}
	return idx
}

// saveIndex writes segments.idx atomically (write, sync, rename).
func (e *Embedded) saveIndex() error {
	e.mu.RLock()
	keys := make([]embSegKey, 0, len(e.segs))
	for k := range e.segs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, embCompareKeys)
	buf := append([]byte(nil), embIndexMagic...)
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		s := e.segs[k]
		buf = binary.AppendUvarint(buf, uint64(k.t))
		buf = binary.AppendVarint(buf, k.day)
		buf = binary.AppendUvarint(buf, uint64(s.size))
		buf = binary.AppendUvarint(buf, uint64(s.count))
	}
	e.mu.RUnlock()
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, embCRC))
	path := filepath.Join(e.dir, embIndexName)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("history: save %s: %w", path, err)
	}
	if err := embSyncDir(e.dir); err != nil {
		return err
	}
	e.indexedAt, e.unindexed, e.indexStale = time.Now(), 0, false
	return nil
}

func embCompareKeys(a, b embSegKey) int {
	if a.t != b.t {
		return int(a.t) - int(b.t)
	}
	switch {
	case a.day < b.day:
		return -1
	case a.day > b.day:
		return 1
	}
	return 0
}

// ---- reading frames

// embTorn reports a frame cut short at off: the end of a segment that a
// crash interrupted.
type embTorn struct {
	path string
	off  int64
}

func (t *embTorn) Error() string {
	return embDamage(t.path, t.off, "incomplete frame").Error()
}

// embReader reads the frames of one segment up to a size.
type embReader struct {
	path      string
	br        *bufio.Reader
	off, size int64
	buf       []byte
}

// reset starts reading f at from (0: check the magic first).
func (r *embReader) reset(f *os.File, path string, t embTable, from, size int64) error {
	r.path, r.off, r.size = path, from, size
	sec := io.NewSectionReader(f, from, size-from)
	if r.br == nil {
		r.br = bufio.NewReaderSize(sec, 1<<20)
	} else {
		r.br.Reset(sec)
	}
	if from > 0 {
		return nil
	}
	n := int(min(size, embMagicLen))
	var m [embMagicLen]byte
	if _, err := io.ReadFull(r.br, m[:n]); err != nil {
		return fmt.Errorf("history: read %s: %w", path, err)
	}
	if string(m[:n]) != embMagic[t][:n] {
		return embDamage(path, 0, "not a segment of %s", embTableDirs[t])
	}
	if n < embMagicLen {
		return &embTorn{path, 0}
	}
	r.off = embMagicLen
	return nil
}

// next returns the payload of the next frame and its offset, io.EOF at the
// end, an *embTorn for a torn last frame and a damage error otherwise.
func (r *embReader) next() ([]byte, int64, error) {
	off := r.off
	if off >= r.size {
		return nil, off, io.EOF
	}
	if r.size-off < embHeaderLen {
		return nil, off, &embTorn{r.path, off}
	}
	var h [embHeaderLen]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return nil, off, fmt.Errorf("history: read %s: %w", r.path, err)
	}
	n := binary.LittleEndian.Uint32(h[0:])
	if crc32.Checksum(h[:8], embCRC) != binary.LittleEndian.Uint32(h[8:]) {
		if h == [embHeaderLen]byte{} && r.restZero() {
			return nil, off, &embTorn{r.path, off} // zeros left by a power loss
		}
		return nil, off, embDamage(r.path, off, "bad frame header")
	}
	end := off + embHeaderLen + int64(n)
	if n > embMaxFrame {
		return nil, off, embDamage(r.path, off, "frame of %d bytes", n)
	}
	if end > r.size {
		return nil, off, &embTorn{r.path, off}
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	p := r.buf[:n]
	if _, err := io.ReadFull(r.br, p); err != nil {
		return nil, off, fmt.Errorf("history: read %s: %w", r.path, err)
	}
	if crc32.Checksum(p, embCRC) != binary.LittleEndian.Uint32(h[4:]) {
		if end == r.size {
			return nil, off, &embTorn{r.path, off} // the last write, cut short
		}
		return nil, off, embDamage(r.path, off, "checksum mismatch")
	}
	r.off = end
	return p, off, nil
}

func (r *embReader) restZero() bool {
	var b [4096]byte
	for {
		n, err := r.br.Read(b[:])
		for _, c := range b[:n] {
			if c != 0 {
				return false
			}
		}
		if err != nil {
			return err == io.EOF
		}
	}
}

// recoverSegment reads a segment from the end of what is known of it (the
// index), counting its rows, and cuts off a torn last frame.
func (e *Embedded) recoverSegment(k embSegKey, known embSegment, size int64) (embSegment, error) {
	path := e.segPath(k)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return known, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	var r embReader
	seg := known
	err = r.reset(f, path, k.t, known.size, size)
	if err == nil {
		seg.size = r.off
	}
	for err == nil {
		var p []byte
		var off int64
		if p, off, err = r.next(); err != nil {
			break
		}
		rows, n := binary.Uvarint(p)
		if n <= 0 {
			err = embDamage(path, off, "bad frame")
			break
		}
		seg.size, seg.count = r.off, seg.count+int64(rows)
	}
	var torn *embTorn
	switch {
	case err == io.EOF:
		return seg, nil
	case errors.As(err, &torn):
		if err := f.Truncate(torn.off); err != nil {
			return seg, fmt.Errorf("history: cut torn end of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return seg, fmt.Errorf("history: sync %s: %w", path, err)
		}
		seg.size = torn.off
		return seg, nil
	case known.size > 0:
		// The index does not match the file after all: read all of it.
		return e.recoverSegment(k, embSegment{}, size)
	}
	return seg, err
}

// ---- frames

type embDec struct {
	p   []byte
	err bool
}

func (d *embDec) uv() uint64 {
	p := d.p
	if len(p) > 0 && p[0] < 0x80 {
		d.p = p[1:]
		return uint64(p[0])
	}
	v, n := binary.Uvarint(p)
	if n <= 0 {
		d.err, d.p = true, nil
		return 0
	}
	d.p = p[n:]
	return v
}

func (d *embDec) sv() int64 {
	u := d.uv()
	return int64(u>>1) ^ -int64(u&1)
}

// s reads a dictionary number below n.
func (d *embDec) s(n uint64) uint32 {
	v := d.uv()
	if v >= n {
		d.err = true
		return 0
	}
	return uint32(v)
}

// embFrame is one decoded frame: IDs, dictionary and encoded rows.
type embFrame struct {
	t    embTable
	day  int64
	path string
	off  int64
	n    int
	ids  []byte
	dict [][]byte // dict[0] is the empty string
	recs []byte
}

func (fr *embFrame) damage(format string, args ...any) error {
	return embDamage(fr.path, fr.off, format, args...)
}

// parseIDs reads the row count and IDs of payload p.
func (fr *embFrame) parseIDs(p []byte) (embDec, error) {
	d := embDec{p: p}
	n := d.uv()
	if d.err || n > uint64(len(d.p)/8) {
		return d, fr.damage("bad row count")
	}
	fr.n = int(n)
	fr.ids, d.p = d.p[:8*n], d.p[8*n:]
	return d, nil
}

func (fr *embFrame) parse(p []byte) error {
	d, err := fr.parseIDs(p)
	if err != nil {
		return err
	}
	m := d.uv()
	if d.err || m > uint64(len(d.p)) {
		return fr.damage("bad dictionary")
	}
	fr.dict = append(fr.dict[:0], nil)
	for range m {
		l := d.uv()
		if d.err || l > uint64(len(d.p)) {
			return fr.damage("bad dictionary")
		}
		fr.dict = append(fr.dict, d.p[:l:l])
		d.p = d.p[l:]
	}
	fr.recs = d.p
	return nil
}

func (fr *embFrame) id(i int) uint64 { return binary.LittleEndian.Uint64(fr.ids[8*i:]) }

// embAlert is a decoded alert row: strings are dictionary numbers.
type embAlert struct {
	t, starts                                                           int64
	fp, name, service, severity, status, kind, incident, team, priority uint32
	notifications                                                       uint32
	flapping                                                            bool
	labels                                                              []uint32 // key, value, key, value...
}

// alerts calls fn with each row of an alert frame.
func (fr *embFrame) alerts(fn func(i int, a *embAlert)) error {
	d := embDec{p: fr.recs}
	nd := uint64(len(fr.dict))
	base := fr.day * embDaySecs
	var a embAlert
	for i := range fr.n {
		off := d.uv()
		if off >= embDaySecs {
			return fr.damage("row %d: bad time", i)
		}
		a.t = base + int64(off)
		a.starts = a.t - d.sv()
		a.fp, a.name, a.service = d.s(nd), d.s(nd), d.s(nd)
		a.severity, a.status, a.kind = d.s(nd), d.s(nd), d.s(nd)
		a.incident, a.team, a.priority = d.s(nd), d.s(nd), d.s(nd)
		a.notifications = uint32(d.uv())
		a.flapping = d.uv()&1 != 0
		nl := d.uv()
		if nl > uint64(len(d.p)) {
			return fr.damage("row %d: bad labels", i)
		}
		a.labels = a.labels[:0]
		for range 2 * nl {
			a.labels = append(a.labels, d.s(nd))
		}
		if d.err {
			return fr.damage("row %d: bad encoding", i)
		}
		fn(i, &a)
	}
	if len(d.p) != 0 {
		return fr.damage("%d bytes after the rows", len(d.p))
	}
	return nil
}

// embIncident is a decoded incident row: strings are dictionary numbers.
type embIncident struct {
	t, opened                                             int64
	incident, event, detail, actor, fp, name              uint32
	services                                              []uint32
	rootCause, signature, title, severity, team, category uint32
	priority, problem                                     uint32
	alertCount                                            uint32
}

// incidents calls fn with each row of an incident frame.
func (fr *embFrame) incidents(fn func(i int, r *embIncident)) error {
	d := embDec{p: fr.recs}
	nd := uint64(len(fr.dict))
	base := fr.day * embDaySecs
	var r embIncident
	for i := range fr.n {
		off := d.uv()
		if off >= embDaySecs {
			return fr.damage("row %d: bad time", i)
		}
		r.t = base + int64(off)
		r.opened = r.t - d.sv()
		r.incident, r.event, r.detail = d.s(nd), d.s(nd), d.s(nd)
		r.actor, r.fp, r.name = d.s(nd), d.s(nd), d.s(nd)
		ns := d.uv()
		if ns > uint64(len(d.p)) {
			return fr.damage("row %d: bad services", i)
		}
		r.services = r.services[:0]
		for range ns {
			r.services = append(r.services, d.s(nd))
		}
		r.rootCause, r.signature, r.title, r.severity = d.s(nd), d.s(nd), d.s(nd), d.s(nd)
		r.team, r.category, r.priority, r.problem = d.s(nd), d.s(nd), d.s(nd), d.s(nd)
		r.alertCount = uint32(d.uv())
		if d.err {
			return fr.damage("row %d: bad encoding", i)
		}
		fn(i, &r)
	}
	if len(d.p) != 0 {
		return fr.damage("%d bytes after the rows", len(d.p))
	}
	return nil
}

// embEncoder builds frames.
type embEncoder struct {
	dict map[string]uint32
	strs []string
	ids  []byte
	recs []byte
	n    int
}

func (en *embEncoder) reset() {
	if en.dict == nil {
		en.dict = map[string]uint32{}
	}
	clear(en.dict)
	en.strs, en.ids, en.recs, en.n = en.strs[:0], en.ids[:0], en.recs[:0], 0
}

func (en *embEncoder) str(s string) {
	if s == "" {
		en.recs = append(en.recs, 0)
		return
	}
	i, ok := en.dict[s]
	if !ok {
		en.strs = append(en.strs, s)
		i = uint32(len(en.strs))
		en.dict[s] = i
	}
	en.recs = binary.AppendUvarint(en.recs, uint64(i))
}

func (en *embEncoder) alert(r *AlertRow, t, day int64) {
	en.n++
	en.ids = binary.LittleEndian.AppendUint64(en.ids, r.ID)
	en.recs = binary.AppendUvarint(en.recs, uint64(t-day*embDaySecs))
	en.recs = binary.AppendVarint(en.recs, t-embOptTime(r.StartsAt))
	for _, s := range [...]string{r.Fingerprint, r.AlertName, r.Service, r.Severity, r.Status, r.Kind, r.Incident, r.Team, r.Priority} {
		en.str(s)
	}
	en.recs = binary.AppendUvarint(en.recs, uint64(r.Notifications))
	flags := uint64(0)
	if r.Flapping {
		flags |= 1
	}
	en.recs = binary.AppendUvarint(en.recs, flags)
	en.recs = binary.AppendUvarint(en.recs, uint64(len(r.LabelKeys)))
	for i, k := range r.LabelKeys {
		en.str(k)
		if i < len(r.LabelValues) {
			en.str(r.LabelValues[i])
		} else {
			en.str("")
		}
	}
}

func (en *embEncoder) incident(r *IncidentRow, t, day int64) {
	en.n++
	en.ids = binary.LittleEndian.AppendUint64(en.ids, r.ID)
	en.recs = binary.AppendUvarint(en.recs, uint64(t-day*embDaySecs))
	en.recs = binary.AppendVarint(en.recs, t-embOptTime(r.OpenedAt))
	for _, s := range [...]string{r.Incident, r.Event, r.Detail, r.Actor, r.Fingerprint, r.AlertName} {
		en.str(s)
	}
	en.recs = binary.AppendUvarint(en.recs, uint64(len(r.Services)))
	for _, s := range r.Services {
		en.str(s)
	}
	for _, s := range [...]string{r.RootCause, r.Signature, r.Title, r.Severity, r.Team, r.Category, r.Priority, r.Problem} {
		en.str(s)
	}
	en.recs = binary.AppendUvarint(en.recs, uint64(r.AlertCount))
}

// frame appends the frame of what was encoded to dst.
func (en *embEncoder) frame(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, embHeaderLen)...)
	dst = binary.AppendUvarint(dst, uint64(en.n))
	dst = append(dst, en.ids...)
	dst = binary.AppendUvarint(dst, uint64(len(en.strs)))
	for _, s := range en.strs {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	dst = append(dst, en.recs...)
	h, p := dst[start:start+embHeaderLen], dst[start+embHeaderLen:]
	binary.LittleEndian.PutUint32(h[0:], uint32(len(p)))
	binary.LittleEndian.PutUint32(h[4:], crc32.Checksum(p, embCRC))
	binary.LittleEndian.PutUint32(h[8:], crc32.Checksum(h[:8], embCRC))
	return dst
}

// ---- writing

// Write implements Writer. Rows whose ID is stored already are skipped
// (always: b.Check is not needed). It returns when the rows are synced to
// disk. On an error, some segments may have been written: writing the batch
// again stores the rest.
func (e *Embedded) Write(ctx context.Context, b *Batch) error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.mu.RLock()
	closed := e.closed
	e.mu.RUnlock()
	if closed {
		return errEmbClosed
	}
	if b == nil || b.Len() == 0 {
		return nil
	}
	// Rows by segment, with what dedup and encoding need, so that each row
	// (big, in no useful order) is read twice only.
	groups := map[embSegKey][]embRowRef{}
	for i := range b.Alerts {
		r := &b.Alerts[i]
		t := embTime(r.Time)
		k := embSegKey{embAlerts, embFloorDiv(t, embDaySecs)}
		groups[k] = append(groups[k], embRowRef{r.ID, t, i})
	}
	for i := range b.Incidents {
		r := &b.Incidents[i]
		t := embTime(r.Time)
		k := embSegKey{embIncidents, embFloorDiv(t, embDaySecs)}
		groups[k] = append(groups[k], embRowRef{r.ID, t, i})
	}
	keys := make([]embSegKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, embCompareKeys)
	written := map[embSegKey]embSegment{}
	var err error
	created := [len(embTableDirs)]bool{}
	var buf []byte
	for _, k := range keys {
		if err = ctx.Err(); err != nil {
			break
		}
		var seg embSegment
		var isNew bool
		seg, isNew, buf, err = e.writeSegment(k, groups[k], b, buf)
		if err != nil {
			break
		}
		if isNew {
			created[k.t] = true
		}
		if seg != e.segs[k] {
			written[k] = seg
		}
	}
	for t, c := range created {
		if c {
			if serr := embSyncDir(filepath.Join(e.dir, embTableDirs[t])); serr != nil && err == nil {
				err = serr
			}
		}
	}
	if len(written) > 0 {
		e.mu.Lock()
		for k, s := range written {
			e.unindexed += s.size - e.segs[k].size
			e.segs[k] = s
		}
		e.mu.Unlock()
		e.indexStale = true
	}
	if e.indexStale && (time.Since(e.indexedAt) >= embIndexEvery || e.unindexed >= embIndexBytes) {
		e.saveIndex() // an optimisation of Open: on failure it is tried again later
	}
	return err
}

// embRowRef is a row of a batch: its ID, stored time and index.
type embRowRef struct {
	id uint64
	t  int64
	i  int
}

// writeSegment appends the rows of batch b that are not stored yet to k's
// segment and syncs it.
func (e *Embedded) writeSegment(k embSegKey, rows []embRowRef, b *Batch, buf []byte) (embSegment, bool, []byte, error) {
	seg, exists := e.segs[k]
	set, err := e.idSet(k)
	if err != nil {
		return seg, false, buf, err
	}
	fresh := rows[:0]
	for _, r := range rows {
		if _, dup := set.ids[r.id]; dup {
			continue
		}
		set.ids[r.id] = struct{}{}
		fresh = append(fresh, r)
	}
	if len(fresh) == 0 {
		return seg, false, buf, nil
	}
	e.idCount += len(fresh)
	buf = buf[:0]
	if seg.size == 0 {
		buf = append(buf, embMagic[k.t]...)
	}
	for start := 0; start < len(fresh); start += embFrameRows {
		e.enc.reset()
		for _, r := range fresh[start:min(start+embFrameRows, len(fresh))] {
			if k.t == embAlerts {
				e.enc.alert(&b.Alerts[r.i], r.t, k.day)
			} else {
				e.enc.incident(&b.Incidents[r.i], r.t, k.day)
			}
		}
		buf = e.enc.frame(buf)
	}
	isNew := !exists
	if err := e.appendAt(k, seg.size, buf); err != nil {
		// The IDs just added may not be on disk: load them again next time.
		e.idCount -= len(set.ids)
		delete(e.ids, k)
		return seg, false, buf, err
	}
	seg.size += int64(len(buf))
	seg.count += int64(len(fresh))
	e.evictIDs(k)
	return seg, isNew, buf, nil
}

// appendAt writes data at off of k's segment (its committed size) and syncs.
func (e *Embedded) appendAt(k embSegKey, off int64, data []byte) error {
	path := e.segPath(k)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if e.dirty[k] {
		if err := f.Truncate(off); err != nil {
			f.Close()
			return fmt.Errorf("history: %s: %w", path, err)
		}
		delete(e.dirty, k)
	}
	_, err = f.WriteAt(data, off)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		// Drop what may have been written so no torn frame stays behind a
		// later one; if that fails too, try again before the next write.
		if f.Truncate(off) != nil {
			e.dirty[k] = true
		}
		f.Close()
		return fmt.Errorf("history: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("history: write %s: %w", path, err)
	}
	return nil
}

// idSet returns the IDs stored in k's segment, loading them if needed.
func (e *Embedded) idSet(k embSegKey) (*embIDSet, error) {
	e.tick++
	if s := e.ids[k]; s != nil {
		s.used = e.tick
		return s, nil
	}
	seg := e.segs[k]
	s := &embIDSet{ids: make(map[uint64]struct{}, seg.count), used: e.tick}
	if seg.size > embMagicLen {
		path := e.segPath(k)
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		defer f.Close()
		var r embReader
		fr := embFrame{t: k.t, day: k.day, path: path}
		err = r.reset(f, path, k.t, 0, seg.size)
		for err == nil {
			var p []byte
			p, fr.off, err = r.next()
			if err != nil {
				break
			}
			if _, err = fr.parseIDs(p); err != nil {
				return nil, err
			}
			for i := range fr.n {
				s.ids[fr.id(i)] = struct{}{}
			}
		}
		if err != io.EOF {
			return nil, embWhole(err)
		}
	}
	e.ids[k] = s
	e.idCount += len(s.ids)
	e.evictIDs(k)
	return s, nil
}

// evictIDs drops the least recently used ID sets other than keep's while
// they hold more than maxIDs IDs.
func (e *Embedded) evictIDs(keep embSegKey) {
	for e.idCount > e.maxIDs && len(e.ids) > 1 {
		var lru embSegKey
		var oldest *embIDSet
		for k, s := range e.ids {
			if k != keep && (oldest == nil || s.used < oldest.used) {
				lru, oldest = k, s
			}
		}
		e.idCount -= len(oldest.ids)
		delete(e.ids, lru)
	}
}

// embWhole turns a torn frame inside what was committed into damage.
func embWhole(err error) error {
	var torn *embTorn
	if errors.As(err, &torn) {
		return embDamage(torn.path, torn.off, "incomplete or corrupt frame")
	}
	return err
}

// ---- queries

type embSegRef struct {
	k     embSegKey
	size  int64
	count int64
}

// snapshot returns the segments of the tables ts of the days that [since,
// until) overlaps (all days with all) and the size of their whole frames.
func (e *Embedded) snapshot(since, until int64, all bool, ts ...embTable) ([]embSegRef, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, errEmbClosed
	}
	if !all && until <= since {
		return nil, nil
	}
	first, last := embFloorDiv(since, embDaySecs), embFloorDiv(until-1, embDaySecs)
	var refs []embSegRef
	for k, s := range e.segs {
		if slices.Contains(ts, k.t) && s.size > embMagicLen && (all || k.day >= first && k.day <= last) {
			refs = append(refs, embSegRef{k, s.size, s.count})
		}
	}
	slices.SortFunc(refs, func(a, b embSegRef) int { return embCompareKeys(a.k, b.k) })
	return refs, nil
}

// embScan calls visit with every frame of the segments refs, on up to
// GOMAXPROCS goroutines, each with its own accumulator from newAcc; it
// returns the accumulators.
func embScan[A any](ctx context.Context, e *Embedded, refs []embSegRef, newAcc func() A, visit func(A, *embFrame) error) ([]A, error) {
	workers := max(min(runtime.GOMAXPROCS(0), len(refs), 8), 1)
	accs := make([]A, workers)
	errs := make([]error, workers)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		accs[w] = newAcc()
		wg.Go(func() {
			var r embReader
			var fr embFrame
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(refs) {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = e.scanSegment(refs[i], &r, &fr, func(fr *embFrame) error { return visit(accs[w], fr) })
				}
				if err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return accs, nil
}

func (e *Embedded) scanSegment(ref embSegRef, r *embReader, fr *embFrame, visit func(*embFrame) error) error {
	path := e.segPath(ref.k)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	if err := r.reset(f, path, ref.k.t, 0, ref.size); err != nil {
		return embWhole(err)
	}
	fr.t, fr.day, fr.path = ref.k.t, ref.k.day, path
	for {
		p, off, err := r.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return embWhole(err)
		}
		fr.off = off
		if err := fr.parse(p); err != nil {
			return err
		}
		if err := visit(fr); err != nil {
			return err
		}
	}
}

// embStrings turns dictionary numbers of the current frame into strings,
// allocating each distinct string once per query.
type embStrings struct {
	intern map[string]string
	strs   []string
	ok     []bool
}

func newEmbStrings() *embStrings { return &embStrings{intern: map[string]string{}} }

func (c *embStrings) frame(fr *embFrame) {
	n := len(fr.dict)
	if cap(c.ok) < n {
		c.strs, c.ok = make([]string, n), make([]bool, n)
	}
	c.strs, c.ok = c.strs[:n], c.ok[:n]
	clear(c.ok)
	c.strs[0], c.ok[0] = "", true
}

func (c *embStrings) get(fr *embFrame, i uint32) string {
	if c.ok[i] {
		return c.strs[i]
	}
	b := fr.dict[i]
	s, found := c.intern[string(b)]
	if !found {
		s = string(b)
		c.intern[s] = s
	}
	c.strs[i], c.ok[i] = s, true
	return s
}

// find returns the dictionary number of s in the current frame, -1 if none.
func (c *embStrings) find(fr *embFrame, s string) int {
	if s == "" {
		return 0
	}
	for i, b := range fr.dict[1:] {
		if string(b) == s {
			return i + 1
		}
	}
	return -1
}

type embVolKey struct {
	t   int64
	key string
}

type embVolAcc struct {
	strs *embStrings
	rows map[embVolKey]*VolumeRow
}

// Volume implements Store.
func (e *Embedded) Volume(ctx context.Context, q Query) ([]VolumeRow, error) {
	by := 0 // the key: 0 none, 1 service (root cause), 2 alertname, 3 team, 4 priority
	switch q.By {
	case "":
	case "service":
		by = 1
	case "alertname":
		by = 2
	case "team":
		by = 3
	case "priority":
		by = 4
	default:
		return nil, fmt.Errorf("by: %q is not one of service, alertname, team, priority", q.By)
	}
	since, until := embRange(q.Since, q.Until)
	step := max(int64(q.Step/time.Second), 1)
	refs, err := e.snapshot(since, until, false, embAlerts, embIncidents)
	if err != nil {
		return nil, err
	}
	accs, err := embScan(ctx, e, refs, func() *embVolAcc {
		return &embVolAcc{strs: newEmbStrings(), rows: map[embVolKey]*VolumeRow{}}
	}, func(acc *embVolAcc, fr *embFrame) error {
		acc.strs.frame(fr)
		want := -1
		if q.KeySet {
			if want = acc.strs.find(fr, q.Key); want < 0 || by == 0 && want != 0 {
				return nil // no row of this frame has the key
			}
		}
		row := func(t int64, k uint32) *VolumeRow {
			b := t - ((t%step)+step)%step
			vk := embVolKey{b, acc.strs.get(fr, k)}
			r := acc.rows[vk]
			if r == nil {
				r = &VolumeRow{T: embUnix(b), Key: vk.key}
				acc.rows[vk] = r
			}
			return r
		}
		if fr.t == embAlerts {
			return fr.alerts(func(_ int, a *embAlert) {
				if a.t < since || a.t >= until {
					return
				}
				var k uint32
				switch by {
				case 1:
					k = a.service
				case 2:
					k = a.name
				case 3:
					k = a.team
				case 4:
					k = a.priority
				}
				if want >= 0 && k != uint32(want) {
					return
				}
				episode := string(fr.dict[a.kind]) != "resolved"
				if !episode && a.notifications == 0 {
					return
				}
				r := row(a.t, k)
				if episode {
					r.Alerts++
				}
				r.Notifications += int64(a.notifications)
			})
		}
		return fr.incidents(func(_ int, i *embIncident) {
			if i.t < since || i.t >= until || string(fr.dict[i.event]) != "opened" {
				return
			}
			var k uint32
			switch by {
			case 1:
				k = i.rootCause
			case 2:
				k = i.name
			case 3:
				k = i.team
			case 4:
				k = i.priority
			}
			if want >= 0 && k != uint32(want) {
				return
			}
			row(i.t, k).Incidents++
		})
	})
	if err != nil {
		return nil, err
	}
	total := accs[0].rows
	for _, acc := range accs[1:] {
		for k, r := range acc.rows {
			if t := total[k]; t != nil {
				t.Alerts += r.Alerts
				t.Notifications += r.Notifications
				t.Incidents += r.Incidents
			} else {
				total[k] = r
			}
		}
	}
	out := make([]VolumeRow, 0, len(total))
	for _, r := range total {
		if r.Alerts != 0 || r.Notifications != 0 || r.Incidents != 0 {
			out = append(out, *r)
		}
	}
	slices.SortFunc(out, func(a, b VolumeRow) int {
		if c := a.T.Compare(b.T); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, nil
}

// embNames accumulates AlertNames on one goroutine. Names, fingerprints
// and incidents get dense numbers; distinct (name, fingerprint) and (name,
// incident) pairs are sets of two numbers.
type embNames struct {
	num   map[string]uint32 // string → number
	strs  []string          // number → string
	stats []*NameStat       // by name number
	fps   embPairs
	incs  embPairs
	dense []uint32 // of the current frame: dictionary number → number+1
}

func newEmbNames() *embNames { return &embNames{num: map[string]uint32{}} }

// embPairs is a set of pairs of numbers: appended to, sorted and made
// unique when it doubled (cheaper than a hash set of millions).
type embPairs struct {
	p     []uint64
	limit int
}

func (s *embPairs) add(a, b uint32) {
	s.p = append(s.p, uint64(a)<<32|uint64(b))
	if len(s.p) >= s.limit {
		s.compact()
	}
}

func (s *embPairs) compact() {
	slices.Sort(s.p)
	s.p = slices.Compact(s.p)
	s.limit = max(1<<20, 2*len(s.p))
}

func (w *embNames) number(s string) uint32 {
	n, ok := w.num[s]
	if !ok {
		n = uint32(len(w.strs))
		w.num[s] = n
		w.strs = append(w.strs, s)
		w.stats = append(w.stats, nil)
	}
	return n
}

func (w *embNames) frame(fr *embFrame) {
	w.dense = slices.Grow(w.dense[:0], len(fr.dict))[:len(fr.dict)]
	clear(w.dense)
}

// of returns the number of dictionary string i of frame fr.
func (w *embNames) of(fr *embFrame, i uint32) uint32 {
	if d := w.dense[i]; d != 0 {
		return d - 1
	}
	n, ok := w.num[string(fr.dict[i])]
	if !ok {
		n = w.number(string(fr.dict[i]))
	}
	w.dense[i] = n + 1
	return n
}

// merge adds o's counts to w's.
func (w *embNames) merge(o *embNames) {
	tr := make([]uint32, len(o.strs))
	for i, s := range o.strs {
		tr[i] = w.number(s)
	}
	for i, st := range o.stats {
		if st == nil {
			continue
		}
		n := tr[i]
		if w.stats[n] == nil {
			w.stats[n] = &NameStat{AlertName: st.AlertName}
		}
		t := w.stats[n]
		t.Episodes += st.Episodes
		t.Refires += st.Refires
		t.Flapping += st.Flapping
		t.Notifications += st.Notifications
	}
	for _, p := range o.fps.p {
		w.fps.add(tr[p>>32], tr[uint32(p)])
	}
	for _, p := range o.incs.p {
		w.incs.add(tr[p>>32], tr[uint32(p)])
	}
}

// AlertNames implements Store.
func (e *Embedded) AlertNames(ctx context.Context, since, until time.Time) ([]NameStat, error) {
	s, u := embRange(since, until)
	refs, err := e.snapshot(s, u, false, embAlerts)
	if err != nil {
		return nil, err
	}
	accs, err := embScan(ctx, e, refs, newEmbNames, func(w *embNames, fr *embFrame) error {
		w.frame(fr)
		return fr.alerts(func(_ int, a *embAlert) {
			if a.t < s || a.t >= u {
				return
			}
			name := w.of(fr, a.name)
			st := w.stats[name]
			if st == nil {
				st = &NameStat{AlertName: w.strs[name]}
				w.stats[name] = st
			}
			kind := string(fr.dict[a.kind])
			if kind != "resolved" {
				st.Episodes++
				if a.flapping {
					st.Flapping++
				}
			}
			if kind == "refired" {
				st.Refires++
			}
			st.Notifications += int64(a.notifications)
			w.fps.add(name, w.of(fr, a.fp))
		})
	})
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for _, w := range accs {
		wg.Go(func() { w.fps.compact() })
	}
	wg.Wait()
	w := accs[0]
	for _, o := range accs[1:] {
		w.merge(o)
	}
	w.fps.compact()
	for _, p := range w.fps.p {
		w.stats[p>>32].Fingerprints++
	}
	// The incidents each name opened, as Volume counts them by alert name.
	vol, err := e.Volume(ctx, Query{Since: since, Until: until, Step: until.Sub(since) + time.Second, By: "alertname"})
	if err != nil {
		return nil, err
	}
	for _, v := range vol {
		if n, ok := w.num[v.Key]; ok && w.stats[n] != nil {
			w.stats[n].Incidents += v.Incidents
		}
	}
	var out []NameStat
	for _, st := range w.stats {
		if st != nil {
			out = append(out, *st)
		}
	}
	slices.SortFunc(out, func(a, b NameStat) int {
		if a.Episodes != b.Episodes {
			if a.Episodes > b.Episodes {
				return -1
			}
			return 1
		}
		return strings.Compare(a.AlertName, b.AlertName)
	})
	return out, nil
}

// embLatest is the value with the greatest (time, value) of the non-empty
// values seen.
type embLatest struct {
	t int64
	v string
}

func (l *embLatest) add(t int64, v []byte) {
	if len(v) > 0 && (t > l.t || t == l.t && string(v) > l.v) {
		l.t, l.v = t, string(v)
	}
}

func (l *embLatest) merge(o embLatest) {
	if o.v != "" && (o.t > l.t || o.t == l.t && o.v > l.v) {
		*l = o
	}
}

type embFact struct {
	hasOpened          bool
	openedAt           int64 // min OpenedAt of the opened rows
	firstT             int64 // Time of the first opened row
	alertName          string
	acked, resolved    int64 // 0: none
	reopened           int
	team, category     embLatest
	priority, root     embLatest
	signature, problem embLatest
	title              embLatest
	alertCount         uint32
}

func (f *embFact) merge(o *embFact) {
	if o.hasOpened {
		if !f.hasOpened || o.openedAt < f.openedAt {
			f.openedAt = o.openedAt
		}
		if !f.hasOpened || o.firstT < f.firstT || o.firstT == f.firstT && o.alertName < f.alertName {
			f.firstT, f.alertName = o.firstT, o.alertName
		}
		f.hasOpened = true
	}
	if o.acked > 0 && (f.acked == 0 || o.acked < f.acked) {
		f.acked = o.acked
	}
	f.resolved = max(f.resolved, o.resolved)
	f.reopened += o.reopened
	f.team.merge(o.team)
	f.category.merge(o.category)
	f.priority.merge(o.priority)
	f.root.merge(o.root)
	f.signature.merge(o.signature)
	f.problem.merge(o.problem)
	f.title.merge(o.title)
	f.alertCount = max(f.alertCount, o.alertCount)
}

// Incidents implements Store.
func (e *Embedded) Incidents(ctx context.Context, since, until time.Time) ([]IncidentFact, error) {
	s, u := embRange(since, until)
	refs, err := e.snapshot(s, u, false, embIncidents)
	if err != nil {
		return nil, err
	}
	// The incidents opened in range...
	type openedAcc struct {
		strs *embStrings
		ids  map[string]struct{}
	}
	oaccs, err := embScan(ctx, e, refs, func() *openedAcc {
		return &openedAcc{strs: newEmbStrings(), ids: map[string]struct{}{}}
	}, func(acc *openedAcc, fr *embFrame) error {
		acc.strs.frame(fr)
		return fr.incidents(func(_ int, r *embIncident) {
			if r.t >= s && r.t < u && string(fr.dict[r.event]) == "opened" {
				acc.ids[acc.strs.get(fr, r.incident)] = struct{}{}
			}
		})
	})
	if err != nil {
		return nil, err
	}
	wanted := map[string]struct{}{}
	for _, acc := range oaccs {
		for id := range acc.ids {
			wanted[id] = struct{}{}
		}
	}
	if len(wanted) == 0 {
		return nil, nil
	}
	// ...and their facts from all their rows.
	if refs, err = e.snapshot(0, 0, true, embIncidents); err != nil {
		return nil, err
	}
	type factAcc struct {
		facts map[string]*embFact
		slot  []*embFact
	}
	faccs, err := embScan(ctx, e, refs, func() *factAcc {
		return &factAcc{facts: map[string]*embFact{}}
	}, func(acc *factAcc, fr *embFrame) error {
		// Which strings of the frame are wanted incidents? None: skip it.
		acc.slot = slices.Grow(acc.slot[:0], len(fr.dict))[:len(fr.dict)]
		clear(acc.slot)
		hit := false
		for i, b := range fr.dict[1:] {
			if _, ok := wanted[string(b)]; ok {
				f := acc.facts[string(b)]
				if f == nil {
					f = &embFact{}
					acc.facts[string(b)] = f
				}
				acc.slot[i+1], hit = f, true
			}
		}
		if !hit {
			return nil
		}
		return fr.incidents(func(_ int, r *embIncident) {
			f := acc.slot[r.incident]
			if f == nil {
				return
			}
			switch string(fr.dict[r.event]) {
			case "opened":
				if !f.hasOpened || r.opened < f.openedAt {
					f.openedAt = r.opened
				}
				name := fr.dict[r.name]
				if !f.hasOpened || r.t < f.firstT || r.t == f.firstT && string(name) < f.alertName {
					f.firstT, f.alertName = r.t, string(name)
				}
				f.hasOpened = true
			case "acknowledged":
				if f.acked == 0 || r.t < f.acked {
					f.acked = r.t
				}
			case "resolved":
				f.resolved = max(f.resolved, r.t)
			case "reopened":
				f.reopened++
			}
			f.team.add(r.t, fr.dict[r.team])
			f.category.add(r.t, fr.dict[r.category])
			f.priority.add(r.t, fr.dict[r.priority])
			f.root.add(r.t, fr.dict[r.rootCause])
			f.signature.add(r.t, fr.dict[r.signature])
			f.problem.add(r.t, fr.dict[r.problem])
			f.title.add(r.t, fr.dict[r.title])
			f.alertCount = max(f.alertCount, r.alertCount)
		})
	})
	if err != nil {
		return nil, err
	}
	total := faccs[0].facts
	for _, acc := range faccs[1:] {
		for id, f := range acc.facts {
			if t := total[id]; t != nil {
				t.merge(f)
			} else {
				total[id] = f
			}
		}
	}
	out := make([]IncidentFact, 0, len(total))
	for id, f := range total {
		out = append(out, IncidentFact{
			ID:         id,
			OpenedAt:   embOptUnix(f.openedAt),
			AckedAt:    embOptUnix(f.acked),
			ResolvedAt: embOptUnix(f.resolved),
			Reopened:   f.reopened,
			Team:       f.team.v,
			Category:   f.category.v,
			Priority:   f.priority.v,
			RootCause:  f.root.v,
			AlertName:  f.alertName,
			Signature:  f.signature.v,
			Problem:    f.problem.v,
			Title:      f.title.v,
			AlertCount: int(f.alertCount),
		})
	}
	slices.SortFunc(out, func(a, b IncidentFact) int {
		if c := a.OpenedAt.Compare(b.OpenedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Counts implements Store.
func (e *Embedded) Counts(ctx context.Context) (alerts, incidents int64, err error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return 0, 0, errEmbClosed
	}
	for k, s := range e.segs {
		if k.t == embAlerts {
			alerts += s.count
		} else {
			incidents += s.count
		}
	}
	return alerts, incidents, nil
}

// alertRows returns the stored alert rows of [since, until) in file order
// (by day, then as written), as read back: times in seconds.
func (e *Embedded) alertRows(ctx context.Context, since, until time.Time) ([]AlertRow, error) {
	s, u := embRange(since, until)
	refs, err := e.snapshot(s, u, false, embAlerts)
	if err != nil {
		return nil, err
	}
	var rows int64
	for _, ref := range refs {
		rows += ref.count
	}
	out := make([]AlertRow, 0, rows)
	var r embReader
	var fr embFrame
	for _, ref := range refs {
		err := e.scanSegment(ref, &r, &fr, func(fr *embFrame) error {
			strs := make([]string, len(fr.dict))
			for i, b := range fr.dict {
				strs[i] = string(b)
			}
			var slab []string
			return fr.alerts(func(i int, a *embAlert) {
				if a.t < s || a.t >= u {
					return
				}
				str := func(i uint32) string { return strs[i] }
				row := AlertRow{
					ID: fr.id(i), Time: embUnix(a.t), Fingerprint: str(a.fp), AlertName: str(a.name),
					Service: str(a.service), Severity: str(a.severity), Status: str(a.status), Kind: str(a.kind),
					StartsAt: embOptUnix(a.starts), Incident: str(a.incident), Team: str(a.team),
					Priority: str(a.priority), Notifications: a.notifications, Flapping: a.flapping,
				}
				if n := len(a.labels); n > 0 {
					if len(slab) < n {
						slab = make([]string, max(n, 4096))
					}
					kv := slab[:n:n]
					slab = slab[n:]
					for j, l := range a.labels {
						kv[j/2+j%2*(n/2)] = str(l)
					}
					row.LabelKeys, row.LabelValues = kv[:n/2:n/2], kv[n/2:]
				}
				out = append(out, row)
			})
		})
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// incidentRows is alertRows for incident rows.
func (e *Embedded) incidentRows(ctx context.Context, since, until time.Time) ([]IncidentRow, error) {
	s, u := embRange(since, until)
	refs, err := e.snapshot(s, u, false, embIncidents)
	if err != nil {
		return nil, err
	}
	var out []IncidentRow
	var r embReader
	var fr embFrame
	for _, ref := range refs {
		err := e.scanSegment(ref, &r, &fr, func(fr *embFrame) error {
			str := func(i uint32) string { return string(fr.dict[i]) }
			return fr.incidents(func(i int, x *embIncident) {
				if x.t < s || x.t >= u {
					return
				}
				row := IncidentRow{
					ID: fr.id(i), Time: embUnix(x.t), Incident: str(x.incident), Event: str(x.event),
					Detail: str(x.detail), Actor: str(x.actor), Fingerprint: str(x.fp), AlertName: str(x.name),
					RootCause: str(x.rootCause), Signature: str(x.signature), Title: str(x.title),
					Severity: str(x.severity), Team: str(x.team), Category: str(x.category),
					Priority: str(x.priority), Problem: str(x.problem), OpenedAt: embOptUnix(x.opened),
					AlertCount: x.alertCount,
				}
				for _, s := range x.services {
					row.Services = append(row.Services, str(s))
				}
				out = append(out, row)
			})
		})
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
