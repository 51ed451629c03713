package journal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sift-aiops/sift/model"
)

// Record encoding.
//
// Records written by earlier versions are JSON objects (first byte '{') and
// are still read with encoding/json. New records use a compact binary form
// whose first byte is the format version:
//
//	record  = version:byte(1) kinds:byte batch? action?
//	kinds   = bit 0: a batch follows, bit 1: an action follows
//	batch   = bflags:byte [At:time] [Source:str] nalerts:uvarint alert*
//	          [ncursors:uvarint (key:str offset:varint)*]
//	bflags  = bits 0-1: At time form, bit 2: Source, bit 3: cursors
//	alert   = aflags:byte labels [annotations] [StartsAt:atime] [EndsAt:atime] [GeneratorURL:str]
//	aflags  = bits 0-1: StartsAt form, bits 2-3: EndsAt form,
//	          bit 4: annotations, bit 5: GeneratorURL
//	labels  = n:uvarint (name:str value:str)*   sorted by name
//	time    = form 0: zero time (nothing stored)
//	          form 1: UnixNano as varint
//	          form 2: Unix seconds as varint, then nanoseconds as uvarint
//	          (instants outside the int64-nanosecond range, years 1678-2262)
//	atime   = as time, but form 1 stores UnixNano minus the batch's
//	          UnixNano (when At has form 1; wrapping arithmetic, exact)
//	str     = uvarint(length<<1) bytes: a literal; strings of 2 bytes or
//	          more join the record's string table (up to 16384 entries)
//	        | uvarint(index<<1 | 1): the table's entry index
//	action  = length:uvarint JSON of model.Action
//
// Labels, annotations and cursors are written sorted by name so that a
// record always encodes to the same bytes. Seq is not stored here: it is
// in the record's frame (see wal.go).
//
// Decoding normalises what the engine does not distinguish: empty label
// sets, annotation sets, cursor maps and alert lists decode as nil, and
// times decode in UTC (time.Unix(...).UTC(); a zero time decodes as
// time.Time{}), with no monotonic reading. The instant is exact to the
// nanosecond. The JSON form gave times in the offset they were written
// with; nothing in the engine depends on a time's location (it compares
// instants and formats with .UTC()), so replay stays deterministic.
// Actions are rare and embedded as JSON, so they round-trip exactly as
// before.

const (
	codecVersion = 1

	kindBatch  = 1 << 0
	kindAction = 1 << 1

	timeZero = 0
	timeNano = 1
	timeWide = 2

	batchSource  = 1 << 2
	batchCursors = 1 << 3
	batchKnown   = 3 | batchSource | batchCursors

	alertAnnotations = 1 << 4
	alertGenURL      = 1 << 5
	alertKnown       = 3 | 3<<2 | alertAnnotations | alertGenURL

	// Strings of at least minShared bytes written literally join the
	// record's string table, up to maxShared entries.
	minShared = 2
	maxShared = 1 << 14
)

// encoder encodes records; it is reused (see bufPool) to keep its buffer
// and string table allocations.
type encoder struct {
	buf  []byte
	strs map[string]int
	// scratch holds sorted names, pairs sorted labels.
	scratch []string
	pairs   []labelPair
	// prev holds, for the labels (0) and annotations (1) of the previous
	// alert of the record, each sorted name and value with its index in
	// the string table (-1: not in it). Successive alerts mostly have the
	// same names and share values at the same position: comparing with
	// it spares most string table lookups, with the same output.
	prev [2][]tableRef
	// plain turns that shortcut off (tests compare the two).
	plain bool
}

type tableRef struct {
	s   string
	idx int
}

// appendRecord appends the binary encoding of rec to dst. rec.Seq is not
// encoded.
func appendRecord(dst []byte, rec *model.Record) ([]byte, error) {
	e := encoder{buf: dst}
	return e.encode(rec)
}

// encode returns the encoding of rec appended to e.buf; e.buf is the
// returned slice afterwards.
func (e *encoder) encode(rec *model.Record) ([]byte, error) {
	if e.strs == nil {
		e.strs = map[string]int{}
	} else {
		clear(e.strs)
	}
	var kinds byte
	if rec.Batch != nil {
		kinds |= kindBatch
	}
	if rec.Action != nil {
		kinds |= kindAction
	}
	e.buf = append(e.buf, codecVersion, kinds)
	if b := rec.Batch; b != nil {
		e.batch(b)
		for k := range e.prev {
			clear(e.prev[k]) // do not keep the caller's strings alive in the pool
			e.prev[k] = e.prev[k][:0]
		}
	}
	if rec.Action != nil {
		js, err := json.Marshal(rec.Action)
		if err != nil {
			return nil, fmt.Errorf("encode action: %w", err)
		}
		e.buf = binary.AppendUvarint(e.buf, uint64(len(js)))
		e.buf = append(e.buf, js...)
	}
	return e.buf, nil
}

func (e *encoder) batch(b *model.Batch) {
	flags := timeForm(b.At)
	if b.Source != "" {
		flags |= batchSource
	}
	if len(b.Cursors) > 0 {
		flags |= batchCursors
	}
	e.buf = append(e.buf, flags)
	e.time(b.At, flags&3, 0)
	// Alert times are stored relative to the batch time: they are
	// usually close to it, so the varints are short.
	var base int64
	if flags&3 == timeNano {
		base = b.At.UnixNano()
	}
	if b.Source != "" {
		e.string(b.Source)
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(b.Alerts)))
	for i := range b.Alerts {
		a := &b.Alerts[i]
		sf, ef := timeForm(a.StartsAt), timeForm(a.EndsAt)
		af := sf | ef<<2
		if len(a.Annotations) > 0 {
			af |= alertAnnotations
		}
		if a.GeneratorURL != "" {
			af |= alertGenURL
		}
		e.buf = append(e.buf, af)
		e.labels(a.Labels, 0)
		if af&alertAnnotations != 0 {
			e.labels(a.Annotations, 1)
		}
		e.time(a.StartsAt, sf, base)
		e.time(a.EndsAt, ef, base)
		if af&alertGenURL != 0 {
			e.string(a.GeneratorURL)
		}
	}
	if len(b.Cursors) > 0 {
		keys := e.scratch[:0]
		for k := range b.Cursors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.buf = binary.AppendUvarint(e.buf, uint64(len(keys)))
		for _, k := range keys {
			e.string(k)
			e.buf = binary.AppendVarint(e.buf, b.Cursors[k])
		}
		clear(keys)
		e.scratch = keys[:0]
	}
}

func (e *encoder) labels(ls model.LabelSet, kind int) {
	e.buf = binary.AppendUvarint(e.buf, uint64(len(ls)))
	// One pass over the map collects names and values (no lookup per name).
	ps := e.pairs[:0]
	for n, v := range ls {
		ps = append(ps, labelPair{n, v})
	}
	if len(ps) <= 16 {
		for i := 1; i < len(ps); i++ { // insertion sort: label sets are small
			for j := i; j > 0 && ps[j].name < ps[j-1].name; j-- {
				ps[j], ps[j-1] = ps[j-1], ps[j]
			}
		}
	} else {
		slices.SortFunc(ps, func(a, b labelPair) int { return strings.Compare(a.name, b.name) })
	}
	prev := e.prev[kind]
	for i := range ps {
		j := 2 * i
		if j+1 < len(prev) {
			prev[j].idx = e.stringAt(ps[i].name, prev[j])
			prev[j].s = ps[i].name
			prev[j+1].idx = e.stringAt(ps[i].value, prev[j+1])
			prev[j+1].s = ps[i].value
			continue
		}
		prev = append(prev, tableRef{ps[i].name, e.stringIdx(ps[i].name)}, tableRef{ps[i].value, e.stringIdx(ps[i].value)})
	}
	e.prev[kind] = prev
	clear(ps) // do not keep the caller's strings alive in the pool
	e.pairs = ps[:0]
}

// stringAt writes s as string does, knowing that last is the string
// written at the same place before (with its table index): when s equals
// it, the reference needs no lookup. It returns s's table index.
func (e *encoder) stringAt(s string, last tableRef) int {
	if last.idx >= 0 && s == last.s && !e.plain {
		e.buf = binary.AppendUvarint(e.buf, uint64(last.idx)<<1|1)
		return last.idx
	}
	return e.stringIdx(s)
}

type labelPair struct{ name, value string }

// string writes s as uvarint(len<<1) and its bytes, or, if the same
// string was written before in this record, as uvarint(index<<1 | 1).
func (e *encoder) string(s string) { e.stringIdx(s) }

// stringIdx is string; it returns s's index in the string table after
// writing it, or -1 if s is not in the table.
func (e *encoder) stringIdx(s string) int {
	idx := -1
	if len(s) >= minShared {
		if i, ok := e.strs[s]; ok {
			e.buf = binary.AppendUvarint(e.buf, uint64(i)<<1|1)
			return i
		}
		if len(e.strs) < maxShared {
			idx = len(e.strs)
			e.strs[s] = idx
		}
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(s))<<1)
	e.buf = append(e.buf, s...)
	return idx
}

// timeForm returns how t is stored: zero, as int64 nanoseconds, or as
// seconds and nanoseconds when nanoseconds would overflow.
func timeForm(t time.Time) byte {
	if t.IsZero() {
		return timeZero
	}
	// UnixNano is undefined outside roughly 1678-2262; check it exactly.
	if sec := t.Unix(); sec > -9223372036 && sec < 9223372036 {
		return timeNano
	}
	return timeWide
}

// time writes t in the given form; nanosecond times are written as the
// (wrapping) difference from base, which is exact.
func (e *encoder) time(t time.Time, form byte, base int64) {
	switch form {
	case timeNano:
		e.buf = binary.AppendVarint(e.buf, t.UnixNano()-base)
	case timeWide:
		e.buf = binary.AppendVarint(e.buf, t.Unix())
		e.buf = binary.AppendUvarint(e.buf, uint64(t.Nanosecond()))
	}
}

// decodeRecord decodes a record in either the binary or the legacy JSON
// form. It never panics on corrupt input; the error says what is wrong.
// The returned record's Seq is zero.
func decodeRecord(data []byte) (*model.Record, error) {
	if len(data) == 0 {
		return nil, errors.New("empty record")
	}
	switch data[0] {
	case '{':
		var rec model.Record
		if err := json.Unmarshal(data, &rec); err != nil {
			return nil, fmt.Errorf("legacy JSON record: %w", err)
		}
		rec.Seq = 0
		return &rec, nil
	case codecVersion:
	default:
		return nil, fmt.Errorf("unknown record format version %d", data[0])
	}
	d := decoder{buf: data[1:], off: 1, alert: -1}
	kinds := d.byte("record kinds")
	if d.err == nil && kinds&^(kindBatch|kindAction) != 0 {
		d.fail("record kinds: unknown bits %#x", kinds)
	}
	rec := &model.Record{}
	if d.err == nil && kinds&kindBatch != 0 {
		rec.Batch = d.batch()
	}
	if d.err == nil && kinds&kindAction != 0 {
		js := d.bytes("action length")
		if d.err == nil {
			var a model.Action
			if err := json.Unmarshal(js, &a); err != nil {
				d.fail("action: %v", err)
			}
			rec.Action = &a
		}
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return nil, d.err
	}
	return rec, nil
}

// decoder reads from buf; the first error sticks and later reads return
// zero values.
type decoder struct {
	buf   []byte
	off   int // offset of buf[0] in the record, for error messages
	err   error
	alert int      // index of the alert being decoded, or -1
	strs  []string // the record's string table
	base  int64    // nanoseconds that alert times are relative to
}

func (d *decoder) fail(format string, args ...any) {
	if d.err != nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if d.alert >= 0 {
		msg = fmt.Sprintf("alert %d: %s", d.alert, msg)
	}
	d.err = fmt.Errorf("at byte %d: %s", d.off, msg)
}

func (d *decoder) advance(n int) {
	d.buf = d.buf[n:]
	d.off += n
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.buf) == 0 {
		d.fail("%s: truncated", what)
		return 0
	}
	b := d.buf[0]
	d.advance(1)
	return b
}

func (d *decoder) varintErr(what string, n int) {
	if n == 0 {
		d.fail("%s: truncated", what)
	} else {
		d.fail("%s: varint overflows 64 bits", what)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.varintErr(what, n)
		return 0
	}
	d.advance(n)
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.varintErr(what, n)
		return 0
	}
	d.advance(n)
	return v
}

// count reads an element count and checks that the remaining bytes can
// hold that many elements of at least minSize bytes each, so that a
// corrupt count cannot cause a huge allocation.
func (d *decoder) count(what string, minSize int) int {
	n := d.uvarint(what)
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.buf)/minSize) {
		d.fail("%s: count %d exceeds the %d bytes left", what, n, len(d.buf))
		return 0
	}
	return int(n)
}

// bytes reads a length-prefixed byte string (not a table string).
func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail("%s: length %d exceeds the %d bytes left", what, n, len(d.buf))
		return nil
	}
	b := d.buf[:n]
	d.advance(int(n))
	return b
}

// string reads a string written by encoder.string: a literal or a
// reference to an earlier one.
func (d *decoder) string(what string) string {
	v := d.uvarint(what)
	if d.err != nil {
		return ""
	}
	if v&1 != 0 {
		i := v >> 1
		if i >= uint64(len(d.strs)) {
			d.fail("%s: reference to string %d of %d", what, i, len(d.strs))
			return ""
		}
		return d.strs[i]
	}
	n := v >> 1
	if n > uint64(len(d.buf)) {
		d.fail("%s: length %d exceeds the %d bytes left", what, n, len(d.buf))
		return ""
	}
	s := string(d.buf[:n])
	d.advance(int(n))
	if len(s) >= minShared && len(d.strs) < maxShared {
		d.strs = append(d.strs, s)
	}
	return s
}

func (d *decoder) time(what string, form byte) time.Time {
	switch form {
	case timeZero:
		return time.Time{}
	case timeNano:
		ns := d.varint(what)
		if d.err != nil {
			return time.Time{}
		}
		return time.Unix(0, ns+d.base).UTC()
	case timeWide:
		sec := d.varint(what)
		nsec := d.uvarint(what)
		if d.err != nil {
			return time.Time{}
		}
		if nsec >= 1e9 {
			d.fail("%s: nanoseconds %d out of range", what, nsec)
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec)).UTC()
	}
	d.fail("%s: unknown time form %d", what, form)
	return time.Time{}
}

func (d *decoder) batch() *model.Batch {
	b := &model.Batch{}
	flags := d.byte("batch flags")
	if d.err != nil {
		return nil
	}
	if flags&^batchKnown != 0 {
		d.fail("batch flags: unknown bits %#x", flags&^batchKnown)
		return nil
	}
	b.At = d.time("batch time", flags&3)
	if flags&3 == timeNano {
		d.base = b.At.UnixNano()
	}
	if flags&batchSource != 0 {
		b.Source = d.string("batch source")
	}
	// An alert takes at least two bytes (flags and a label count).
	if n := d.count("alert count", 2); n > 0 {
		b.Alerts = make([]model.Alert, n)
		for i := range b.Alerts {
			d.alert = i
			d.decodeAlert(&b.Alerts[i])
			if d.err != nil {
				return nil
			}
		}
		d.alert = -1
	}
	if flags&batchCursors != 0 {
		n := d.count("cursor count", 2)
		if n == 0 && d.err == nil {
			d.fail("cursor count: zero with the cursors flag set")
		}
		if d.err != nil {
			return nil
		}
		b.Cursors = make(map[string]int64, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.string("cursor key")
			b.Cursors[k] = d.varint("cursor offset")
		}
		if d.err == nil && len(b.Cursors) != n {
			d.fail("cursors: duplicate cursor keys")
		}
	}
	if d.err != nil {
		return nil
	}
	return b
}

func (d *decoder) decodeAlert(a *model.Alert) {
	flags := d.byte("flags")
	if d.err != nil {
		return
	}
	if flags&^alertKnown != 0 {
		d.fail("flags: unknown bits %#x", flags&^alertKnown)
		return
	}
	a.Labels = d.labels("labels")
	if flags&alertAnnotations != 0 {
		a.Annotations = d.labels("annotations")
		if a.Annotations == nil && d.err == nil {
			d.fail("annotations: empty with the annotations flag set")
		}
	}
	a.StartsAt = d.time("startsAt", flags&3)
	a.EndsAt = d.time("endsAt", flags>>2&3)
	if flags&alertGenURL != 0 {
		a.GeneratorURL = d.string("generatorURL")
	}
}

func (d *decoder) labels(what string) model.LabelSet {
	// A pair takes at least two bytes (two one-byte strings).
	n := d.count(what, 2)
	if n == 0 || d.err != nil {
		return nil
	}
	ls := make(model.LabelSet, n)
	for j := 0; j < n; j++ {
		name := d.string(what)
		value := d.string(what)
		if d.err != nil {
			return nil
		}
		ls[name] = value
	}
	if len(ls) != n {
		d.fail("%s: duplicate names", what)
		return nil
	}
	return ls
}
