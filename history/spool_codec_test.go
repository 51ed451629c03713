package history

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"testing"
	"time"
)

// utcRows gives the times of b in UTC (the spool decodes them so).
func utcRows(b *Batch) *Batch {
	c := &Batch{Check: b.Check, Alerts: append([]AlertRow(nil), b.Alerts...), Incidents: append([]IncidentRow(nil), b.Incidents...)}
	utc := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.UTC()
	}
	for i := range c.Alerts {
		c.Alerts[i].Time, c.Alerts[i].StartsAt = utc(c.Alerts[i].Time), utc(c.Alerts[i].StartsAt)
	}
	for i := range c.Incidents {
		c.Incidents[i].Time, c.Incidents[i].OpenedAt = utc(c.Incidents[i].Time), utc(c.Incidents[i].OpenedAt)
	}
	return c
}

func TestSpoolCodecRoundTrip(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	for _, b := range []*Batch{
		sampleBatch(),
		embRandomSet(3, 300),
		{Check: true, Alerts: []AlertRow{{ID: 1<<64 - 1, Time: time.Date(2026, 12, 1, 10, 0, 0, 123456789, berlin), Flapping: true,
			LabelKeys: []string{"a", ""}, LabelValues: []string{"ü", "x"}, Notifications: 1<<32 - 1}}},
		{Incidents: []IncidentRow{{ID: 7, Incident: "INC-1", Services: []string{}, AlertCount: 3}}}, // zero times, empty slice
	} {
		p := appendBatch(nil, b)
		var got Batch
		check, err := decodeBatchInto(p, &got)
		if err != nil {
			t.Fatal(err)
		}
		got.Check = check
		want := utcRows(b)
		for i := range want.Alerts {
			want.Alerts[i].LabelKeys, want.Alerts[i].LabelValues = nilIfEmpty(want.Alerts[i].LabelKeys), nilIfEmpty(want.Alerts[i].LabelValues)
		}
		for i := range want.Incidents {
			want.Incidents[i].Services = nilIfEmpty(want.Incidents[i].Services) // read as nil, as from gob
		}
		if len(got.Alerts) == 0 && len(want.Alerts) == 0 {
			got.Alerts, want.Alerts = nil, nil
		}
		if len(got.Incidents) == 0 && len(want.Incidents) == 0 {
			got.Incidents, want.Incidents = nil, nil
		}
		if !reflect.DeepEqual(&got, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, *want)
		}
		// Every truncation is refused, not misread.
		for n := 0; n < len(p); n += 1 + len(p)/200 {
			var x Batch
			if _, err := decodeBatchInto(p[:n], &x); err == nil {
				t.Fatalf("a record cut at %d of %d bytes decoded", n, len(p))
			}
		}
	}
}

// A spool written by an earlier release (gob records) is still read.
func TestSpoolReadsGobRecords(t *testing.T) {
	b := sampleBatch()
	b.Check = true
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(b); err != nil {
		t.Fatal(err)
	}
	if buf.Bytes()[0] == spoolBinary {
		t.Fatal("gob stream starts with the binary marker")
	}
	var got Batch
	check, err := decodeBatchInto(buf.Bytes(), &got)
	if err != nil || !check || len(got.Alerts) != len(b.Alerts) || len(got.Incidents) != len(b.Incidents) {
		t.Fatalf("gob record: check %v, %d alerts, %d incidents, %v", check, len(got.Alerts), len(got.Incidents), err)
	}
	for i := range got.Alerts {
		if got.Alerts[i].ID != b.Alerts[i].ID || !got.Alerts[i].Time.Equal(b.Alerts[i].Time) {
			t.Fatalf("alert %d: %+v", i, got.Alerts[i])
		}
	}
	// In a spool directory, between binary records.
	dir := t.TempDir()
	sp, err := openSpool(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.append(&Batch{Alerts: b.Alerts[:2]}); err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, 8, 8+buf.Len())
	rec = append(rec, buf.Bytes()...)
	putRecordHeader(rec)
	if _, err := sp.w.Write(rec); err != nil {
		t.Fatal(err)
	}
	sp.close()
	sp, err = openSpool(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	if err := sp.append(&Batch{Incidents: b.Incidents[:1]}); err != nil {
		t.Fatal(err)
	}
	all, _, err := sp.next(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Alerts) != 2+len(b.Alerts) || len(all.Incidents) != len(b.Incidents)+1 || !all.Check {
		t.Fatalf("spool with a gob record: %d alerts, %d incidents, check %v", len(all.Alerts), len(all.Incidents), all.Check)
	}
}

func nilIfEmpty(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}
