package history

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"math"
	"time"
)

// The spool's record payload: a Batch in a compact binary form (cheaper to
// write and to read than gob, which the spool used before and still
// reads). It starts with spoolBinary, a byte a gob stream cannot start
// with (gob's first byte is a length: below 0x80, or 0xF8 and above):
//
//	0xB1, flags (1: Check), uvarint alerts, uvarint incidents,
//	uvarint strings in the slices of all rows, then the rows.
//
// Alert row: ID (8 bytes, little endian), Time, Fingerprint, AlertName,
// Service, Severity, Status, Kind, StartsAt, Incident, Team, Priority,
// uvarint Notifications, byte Flapping, uvarint n + n LabelKeys, uvarint
// m + m LabelValues. Incident row: ID, Time, Incident, Event, Detail,
// Actor, Fingerprint, AlertName, uvarint n + n Services, RootCause,
// Signature, Title, Severity, Team, Category, Priority, Problem, OpenedAt,
// uvarint AlertCount. A string is uvarint length + bytes; a time is
// uvarint 0 (the zero time) or uvarint nanoseconds+1 then varint Unix
// seconds (decoded in UTC).
const spoolBinary = 0xB1

var errSpoolRecord = errors.New("history: spool: malformed record")

type spoolEnc struct{ b []byte }

func (e *spoolEnc) uv(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

func (e *spoolEnc) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *spoolEnc) strs(ss []string) {
	e.uv(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *spoolEnc) time(t time.Time) {
	if t.IsZero() {
		e.b = append(e.b, 0)
		return
	}
	e.uv(uint64(t.Nanosecond()) + 1)
	e.b = binary.AppendVarint(e.b, t.Unix())
}

func (e *spoolEnc) id(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }

// appendBatch appends the payload of b to dst.
func appendBatch(dst []byte, b *Batch) []byte {
	e := spoolEnc{b: dst}
	flags := byte(0)
	if b.Check {
		flags |= 1
	}
	e.b = append(e.b, spoolBinary, flags)
	e.uv(uint64(len(b.Alerts)))
	e.uv(uint64(len(b.Incidents)))
	n := 0
	for i := range b.Alerts {
		n += len(b.Alerts[i].LabelKeys) + len(b.Alerts[i].LabelValues)
	}
	for i := range b.Incidents {
		n += len(b.Incidents[i].Services)
	}
	e.uv(uint64(n))
	for i := range b.Alerts {
		r := &b.Alerts[i]
		e.id(r.ID)
		e.time(r.Time)
		e.str(r.Fingerprint)
		e.str(r.AlertName)
		e.str(r.Service)
		e.str(r.Severity)
		e.str(r.Status)
		e.str(r.Kind)
		e.time(r.StartsAt)
		e.str(r.Incident)
		e.str(r.Team)
		e.str(r.Priority)
		e.uv(uint64(r.Notifications))
		e.b = append(e.b, boolU8(r.Flapping))
		e.strs(r.LabelKeys)
		e.strs(r.LabelValues)
	}
	for i := range b.Incidents {
		r := &b.Incidents[i]
		e.id(r.ID)
		e.time(r.Time)
		e.str(r.Incident)
		e.str(r.Event)
		e.str(r.Detail)
		e.str(r.Actor)
		e.str(r.Fingerprint)
		e.str(r.AlertName)
		e.strs(r.Services)
		e.str(r.RootCause)
		e.str(r.Signature)
		e.str(r.Title)
		e.str(r.Severity)
		e.str(r.Team)
		e.str(r.Category)
		e.str(r.Priority)
		e.str(r.Problem)
		e.time(r.OpenedAt)
		e.uv(uint64(r.AlertCount))
	}
	return e.b
}

// spoolDec reads a payload; its strings are substrings of one copy of
// the payload (one allocation per record, not one per string).
type spoolDec struct {
	p     []byte
	s     string // the payload as a string
	off   int
	err   bool
	arena []string
}

// fail marks the record malformed and stops reading it.
func (d *spoolDec) fail() {
	d.err = true
	d.off = len(d.p)
}

func (d *spoolDec) uv() uint64 {
	v, n := binary.Uvarint(d.p[min(d.off, len(d.p)):])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.off += n
	return v
}

func (d *spoolDec) sv() int64 {
	v, n := binary.Varint(d.p[min(d.off, len(d.p)):])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.off += n
	return v
}

func (d *spoolDec) str() string {
	n := d.uv()
	if n > uint64(len(d.p)-d.off) {
		d.fail()
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *spoolDec) strs() []string {
	n := d.uv()
	if n == 0 {
		return nil
	}
	if n > uint64(len(d.arena)) {
		d.fail()
		return nil
	}
	out := d.arena[:n:n]
	d.arena = d.arena[n:]
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *spoolDec) time() time.Time {
	ns := d.uv()
	if ns == 0 {
		return time.Time{}
	}
	if ns > 1e9 {
		d.err = true
		return time.Time{}
	}
	return time.Unix(d.sv(), int64(ns-1)).UTC()
}

func (d *spoolDec) id() uint64 {
	if len(d.p)-d.off < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.p[d.off:])
	d.off += 8
	return v
}

// decodeBatchInto appends the rows of a payload (binary or, written by an
// earlier release, gob) to out and returns the record's Check flag.
func decodeBatchInto(p []byte, out *Batch) (check bool, err error) {
	if len(p) == 0 || p[0] != spoolBinary {
		var b Batch
		if err := gob.NewDecoder(bytes.NewReader(p)).Decode(&b); err != nil {
			return false, err
		}
		out.Alerts = append(out.Alerts, b.Alerts...)
		out.Incidents = append(out.Incidents, b.Incidents...)
		return b.Check, nil
	}
	if len(p) < 2 {
		return false, errSpoolRecord
	}
	d := spoolDec{p: p, s: string(p), off: 2}
	check = p[1]&1 != 0
	na, ni, ns := d.uv(), d.uv(), d.uv()
	// Every row takes at least 8 bytes, every string at least 1.
	rest := uint64(len(p) - d.off)
	if d.err || na > rest/8 || ni > rest/8 || ns > rest || na+ni > math.MaxInt32 {
		return false, errSpoolRecord
	}
	d.arena = make([]string, ns)
	out.Alerts = growRows(out.Alerts, int(na))
	for range na {
		out.Alerts = append(out.Alerts, AlertRow{
			ID: d.id(), Time: d.time(), Fingerprint: d.str(), AlertName: d.str(), Service: d.str(), Severity: d.str(),
			Status: d.str(), Kind: d.str(), StartsAt: d.time(), Incident: d.str(), Team: d.str(), Priority: d.str(),
			Notifications: uint32(d.uv()), Flapping: d.flag(), LabelKeys: d.strs(), LabelValues: d.strs(),
		})
	}
	out.Incidents = growRows(out.Incidents, int(ni))
	for range ni {
		out.Incidents = append(out.Incidents, IncidentRow{
			ID: d.id(), Time: d.time(), Incident: d.str(), Event: d.str(), Detail: d.str(), Actor: d.str(),
			Fingerprint: d.str(), AlertName: d.str(), Services: d.strs(), RootCause: d.str(), Signature: d.str(),
			Title: d.str(), Severity: d.str(), Team: d.str(), Category: d.str(), Priority: d.str(), Problem: d.str(),
			OpenedAt: d.time(), AlertCount: uint32(d.uv()),
		})
	}
	if d.err || d.off != len(p) {
		return false, errSpoolRecord
	}
	return check, nil
}

func (d *spoolDec) flag() bool {
	if d.off >= len(d.p) {
		d.err = true
		return false
	}
	v := d.p[d.off]
	d.off++
	return v != 0
}

// growRows makes room for n more rows.
func growRows[R any](rows []R, n int) []R {
	if cap(rows)-len(rows) >= n {
		return rows
	}
	out := make([]R, len(rows), len(rows)+max(n, len(rows)))
	copy(out, rows)
	return out
}
