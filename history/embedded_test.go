package history

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// t0 is the start of the hand-built data set's first day.
var embT0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func embAt(d time.Duration) time.Time { return embT0.Add(d) }

func embAlertRow(d time.Duration, fp, name, svc, kind, inc, team, prio string, notif uint32, flap bool) AlertRow {
	t := embAt(d)
	r := AlertRow{
		ID: eventID("a", fp, kind, timeKey(t)), Time: t, Fingerprint: fp, AlertName: name, Service: svc,
		Severity: "critical", Status: "firing", Kind: kind, StartsAt: t.Add(-90*time.Second - 250*time.Millisecond),
		Incident: inc, Team: team, Priority: prio, Notifications: notif, Flapping: flap,
	}
	if kind == "resolved" {
		r.Status = "resolved"
	}
	return r
}

func embIncRow(d time.Duration, inc, event string, set func(*IncidentRow)) IncidentRow {
	t := embAt(d)
	r := IncidentRow{Time: t, Incident: inc, Event: event}
	if set != nil {
		set(&r)
	}
	r.ID = eventID("i", inc, event, timeKey(t), r.Actor, r.AlertName, r.Team)
	return r
}

// embDataSet is the hand-built data set the expected answers below are
// computed from.
func embDataSet() *Batch {
	const m, h = time.Minute, time.Hour
	a1 := embAlertRow(10*m+300*time.Millisecond, "fp1", "HighCPU", "api", "firing", "I1", "core", "P1", 1, false)
	a1.LabelKeys = []string{"alertname", "instance", "service"}
	a1.LabelValues = []string{"HighCPU", "api-1:9100", "api"}
	return &Batch{
		Alerts: []AlertRow{
			a1,
			embAlertRow(20*m, "fp1", "HighCPU", "api", "resolved", "I1", "core", "P1", 3, true),
			embAlertRow(70*m, "fp1", "HighCPU", "api", "refired", "I1", "core", "P1", 1, true),
			embAlertRow(30*m, "fp2", "HighCPU", "db", "firing", "", "", "", 1, false),
			embAlertRow(65*m, "fp3", "DiskFull", "db", "firing", "I2", "storage", "P2", 1, false),
			embAlertRow(24*h+5*m, "fp3", "DiskFull", "db", "resolved", "I2", "storage", "P2", 0, false),
			embAlertRow(24*h+10*m, "fp4", "DiskFull", "web", "firing", "I2", "storage", "P2", 2, true),
			embAlertRow(-h, "fp1", "HighCPU", "api", "firing", "I1", "core", "P1", 1, false),
			embAlertRow(h-500*time.Millisecond, "fp5", "Latency", "api", "firing", "I1", "core", "P1", 1, false),
			embAlertRow(2*h, "fp6", "OnlyResolved", "api", "resolved", "", "", "", 0, false),
			embAlertRow(3*h, "fp7", "Alpha", "cache", "firing", "", "core", "P4", 1, false),
		},
		Incidents: []IncidentRow{
			embIncRow(10*m+200*time.Millisecond, "I1", "opened", func(r *IncidentRow) {
				r.AlertName, r.RootCause, r.Title, r.OpenedAt, r.AlertCount = "HighCPU", "api", "CPU on api", r.Time, 1
				r.Services, r.Fingerprint, r.Severity = []string{"api", "lb"}, "fp1", "critical"
			}),
			embIncRow(15*m, "I1", "joined", func(r *IncidentRow) { r.AlertName, r.AlertCount, r.Signature = "Latency", 2, "sig-a" }),
			embIncRow(30*m, "I1", "classified", func(r *IncidentRow) {
				r.Team, r.Category, r.Priority, r.Signature = "core", "capacity", "P1", "sig-b"
			}),
			embIncRow(40*m+700*time.Millisecond, "I1", "acknowledged", func(r *IncidentRow) { r.Actor = "alice" }),
			embIncRow(50*m, "I1", "acknowledged", func(r *IncidentRow) { r.Actor = "bob" }),
			embIncRow(60*m, "I1", "resolved", nil),
			embIncRow(90*m, "I1", "reopened", nil),
			embIncRow(24*h+30*m, "I1", "resolved", func(r *IncidentRow) { r.Title, r.Team = "CPU on api (again)", "core2" }),
			embIncRow(65*m, "I2", "opened", func(r *IncidentRow) {
				r.AlertName, r.RootCause, r.Team, r.Priority, r.Problem = "DiskFull", "db", "storage", "P2", "PRB-1"
				r.OpenedAt, r.AlertCount = r.Time, 1
			}),
			embIncRow(65*m, "I2", "classified", func(r *IncidentRow) { r.Team, r.Category = "alpha", "disk" }),
			embIncRow(66*m, "I2", "opened", func(r *IncidentRow) { r.AlertName, r.OpenedAt, r.AlertCount = "Another", embAt(64*m), 3 }),
			embIncRow(65*m, "I2", "opened", func(r *IncidentRow) { r.AlertName, r.RootCause, r.OpenedAt = "Cache", "db", r.Time }),
			embIncRow(-2*h, "I3", "opened", func(r *IncidentRow) { r.AlertName, r.RootCause, r.OpenedAt = "X", "old", r.Time }),
			embIncRow(20*m, "I3", "joined", nil),
			embIncRow(25*h, "I4", "opened", func(r *IncidentRow) {
				r.AlertName, r.RootCause, r.Team, r.Priority, r.OpenedAt, r.AlertCount = "DiskFull", "web", "storage", "P3", r.Time, 1
			}),
		},
	}
}

func openTestEmbedded(t testing.TB, dir string) *Embedded {
	t.Helper()
	e, err := OpenEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func embWrite(t testing.TB, e *Embedded, b *Batch) {
	t.Helper()
	if err := e.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func vr(d time.Duration, key string, alerts, notifications, incidents int64) VolumeRow {
	return VolumeRow{T: embAt(d), Key: key, Alerts: alerts, Notifications: notifications, Incidents: incidents}
}

func checkEmbeddedVolume(t *testing.T, e *Embedded) {
	t.Helper()
	const h = time.Hour
	all := func(by string) Query { return Query{Since: embT0, Until: embAt(48 * h), Step: h, By: by} }
	keyed := func(by, key string) Query { q := all(by); q.Key, q.KeySet = key, true; return q }
	cases := []struct {
		name string
		q    Query
		want []VolumeRow
	}{
		{"all", all(""), []VolumeRow{vr(0, "", 3, 6, 1), vr(h, "", 2, 2, 3), vr(3*h, "", 1, 1, 0), vr(24*h, "", 1, 2, 0), vr(25*h, "", 0, 0, 1)}},
		{"service", all("service"), []VolumeRow{
			vr(0, "api", 2, 5, 1), vr(0, "db", 1, 1, 0), vr(h, "", 0, 0, 1), vr(h, "api", 1, 1, 0), vr(h, "db", 1, 1, 2),
			vr(3*h, "cache", 1, 1, 0), vr(24*h, "web", 1, 2, 0), vr(25*h, "web", 0, 0, 1)}},
		{"alertname", all("alertname"), []VolumeRow{
			vr(0, "HighCPU", 2, 5, 1), vr(0, "Latency", 1, 1, 0), vr(h, "Another", 0, 0, 1), vr(h, "Cache", 0, 0, 1),
			vr(h, "DiskFull", 1, 1, 1), vr(h, "HighCPU", 1, 1, 0), vr(3*h, "Alpha", 1, 1, 0), vr(24*h, "DiskFull", 1, 2, 0),
			vr(25*h, "DiskFull", 0, 0, 1)}},
		{"team", all("team"), []VolumeRow{
			vr(0, "", 1, 1, 1), vr(0, "core", 2, 5, 0), vr(h, "", 0, 0, 2), vr(h, "core", 1, 1, 0), vr(h, "storage", 1, 1, 1),
			vr(3*h, "core", 1, 1, 0), vr(24*h, "storage", 1, 2, 0), vr(25*h, "storage", 0, 0, 1)}},
		{"priority", all("priority"), []VolumeRow{
			vr(0, "", 1, 1, 1), vr(0, "P1", 2, 5, 0), vr(h, "", 0, 0, 2), vr(h, "P1", 1, 1, 0), vr(h, "P2", 1, 1, 1),
			vr(3*h, "P4", 1, 1, 0), vr(24*h, "P2", 1, 2, 0), vr(25*h, "P3", 0, 0, 1)}},
		{"service=db", keyed("service", "db"), []VolumeRow{vr(0, "db", 1, 1, 0), vr(h, "db", 1, 1, 2)}},
		{"service=empty", keyed("service", ""), []VolumeRow{vr(h, "", 0, 0, 1)}},
		{"alertname=Nope", keyed("alertname", "Nope"), []VolumeRow{}},
		{"key without by", keyed("", "x"), []VolumeRow{}},
		{"empty key without by", keyed("", ""), []VolumeRow{vr(0, "", 3, 6, 1), vr(h, "", 2, 2, 3), vr(3*h, "", 1, 1, 0), vr(24*h, "", 1, 2, 0), vr(25*h, "", 0, 0, 1)}},
		{"days", Query{Since: embT0, Until: embAt(48 * h), Step: 24 * h}, []VolumeRow{vr(0, "", 6, 9, 4), vr(24*h, "", 1, 2, 1)}},
		// Since is inclusive (a4 at 30m), until exclusive (a3 at 70m); a9 at
		// 59m59.5s is truncated to 59m59s.
		{"bounds", Query{Since: embAt(30 * time.Minute), Until: embAt(70 * time.Minute), Step: h}, []VolumeRow{vr(0, "", 2, 2, 0), vr(h, "", 1, 1, 3)}},
		{"empty range", Query{Since: embAt(h), Until: embAt(h), Step: h}, []VolumeRow{}},
		{"zero step", Query{Since: embAt(30 * time.Minute), Until: embAt(31 * time.Minute)}, []VolumeRow{vr(30*time.Minute, "", 1, 1, 0)}},
	}
	for _, c := range cases {
		got, err := e.Volume(context.Background(), c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
	if _, err := e.Volume(context.Background(), all("colour")); err == nil || !strings.Contains(err.Error(), `"colour"`) {
		t.Errorf("unknown by: err = %v", err)
	}
}

func checkEmbeddedIncidents(t *testing.T, e *Embedded) {
	t.Helper()
	const m, h = time.Minute, time.Hour
	i1 := IncidentFact{
		ID: "I1", OpenedAt: embAt(10 * m), AckedAt: embAt(40 * m), ResolvedAt: embAt(24*h + 30*m), Reopened: 1,
		Team: "core2", Category: "capacity", Priority: "P1", RootCause: "api", AlertName: "HighCPU",
		Signature: "sig-b", Title: "CPU on api (again)", AlertCount: 2,
	}
	i2 := IncidentFact{
		ID: "I2", OpenedAt: embAt(64 * m), Team: "storage", Category: "disk", Priority: "P2", RootCause: "db",
		AlertName: "Cache", Problem: "PRB-1", AlertCount: 3,
	}
	i3 := IncidentFact{ID: "I3", OpenedAt: embAt(-2 * h), RootCause: "old", AlertName: "X"}
	i4 := IncidentFact{ID: "I4", OpenedAt: embAt(25 * h), Team: "storage", Priority: "P3", RootCause: "web", AlertName: "DiskFull", AlertCount: 1}
	cases := []struct {
		name         string
		since, until time.Time
		want         []IncidentFact
	}{
		{"first day", embT0, embAt(24 * h), []IncidentFact{i1, i2}},
		{"two days", embT0, embAt(48 * h), []IncidentFact{i1, i2, i4}},
		{"before", embAt(-3 * h), embT0, []IncidentFact{i3}},
		{"nothing opened", embAt(2 * h), embAt(24 * h), nil},
		// Bounds are truncated to the second, as ClickHouse's toDateTime.
		{"subsecond since", embAt(10*m + 500*time.Millisecond), embAt(11 * m), []IncidentFact{i1}},
	}
	for _, c := range cases {
		got, err := e.Incidents(context.Background(), c.since, c.until)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func checkEmbeddedAlertNames(t *testing.T, e *Embedded) {
	t.Helper()
	const h = time.Hour
	cases := []struct {
		name         string
		since, until time.Time
		want         []NameStat
	}{
		// Incidents: the "opened" rows with the name in the range.
		{"two days", embT0, embAt(48 * h), []NameStat{
			{AlertName: "HighCPU", Episodes: 3, Refires: 1, Flapping: 1, Notifications: 6, Fingerprints: 2, Incidents: 1},
			{AlertName: "DiskFull", Episodes: 2, Flapping: 1, Notifications: 3, Fingerprints: 2, Incidents: 2},
			{AlertName: "Alpha", Episodes: 1, Notifications: 1, Fingerprints: 1},
			{AlertName: "Latency", Episodes: 1, Notifications: 1, Fingerprints: 1},
			{AlertName: "OnlyResolved", Fingerprints: 1},
		}},
		{"hour 1 to day 2", embAt(h), embAt(24 * h), []NameStat{
			{AlertName: "Alpha", Episodes: 1, Notifications: 1, Fingerprints: 1},
			{AlertName: "DiskFull", Episodes: 1, Notifications: 1, Fingerprints: 1, Incidents: 1},
			{AlertName: "HighCPU", Episodes: 1, Refires: 1, Flapping: 1, Notifications: 1, Fingerprints: 1},
			{AlertName: "OnlyResolved", Fingerprints: 1},
		}},
		{"empty", embAt(100 * h), embAt(200 * h), nil},
	}
	for _, c := range cases {
		got, err := e.AlertNames(context.Background(), c.since, c.until)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func checkEmbeddedCounts(t *testing.T, e *Embedded, alerts, incidents int64) {
	t.Helper()
	a, i, err := e.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if a != alerts || i != incidents {
		t.Errorf("Counts = %d alerts, %d incidents; want %d, %d", a, i, alerts, incidents)
	}
}

func TestEmbeddedQueries(t *testing.T) {
	e := openTestEmbedded(t, t.TempDir())
	defer e.Close()
	if e.Kind() != "embedded" {
		t.Errorf("Kind = %q", e.Kind())
	}
	// In two writes, so that days have several frames.
	b := embDataSet()
	embWrite(t, e, &Batch{Alerts: b.Alerts[:5], Incidents: b.Incidents[:7]})
	embWrite(t, e, &Batch{Alerts: b.Alerts[5:], Incidents: b.Incidents[7:]})
	checkEmbeddedCounts(t, e, 11, 15)
	checkEmbeddedVolume(t, e)
	checkEmbeddedIncidents(t, e)
	checkEmbeddedAlertNames(t, e)
}

func TestEmbeddedPersistence(t *testing.T) {
	dir := t.TempDir()
	e := openTestEmbedded(t, dir)
	b := embDataSet()
	embWrite(t, e, b)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Write(context.Background(), b); err == nil {
		t.Error("Write after Close: no error")
	}
	if _, err := e.Volume(context.Background(), Query{Since: embT0, Until: embAt(time.Hour)}); err == nil {
		t.Error("Volume after Close: no error")
	}
	for _, name := range []string{"alerts/2026-03-01.seg", "alerts/2026-03-02.seg", "alerts/2026-03-03.seg",
		"incidents/2026-03-01.seg", "incidents/2026-03-02.seg", "incidents/2026-03-03.seg", "segments.idx"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	for _, withIndex := range []bool{true, false} {
		if !withIndex {
			os.Remove(filepath.Join(dir, embIndexName))
		}
		e = openTestEmbedded(t, dir)
		checkEmbeddedCounts(t, e, 11, 15)
		checkEmbeddedVolume(t, e)
		checkEmbeddedIncidents(t, e)
		checkEmbeddedAlertNames(t, e)

		// Every field is read back, times truncated to the second.
		since, until := embAt(-72*time.Hour), embAt(72*time.Hour)
		alerts, err := e.alertRows(context.Background(), since, until)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(b.Alerts)
		for i := range want {
			want[i].Time, want[i].StartsAt = want[i].Time.Truncate(time.Second), want[i].StartsAt.Truncate(time.Second)
		}
		byID := func(a, b AlertRow) int { return int(a.ID>>1) - int(b.ID>>1) }
		slices.SortFunc(alerts, byID)
		slices.SortFunc(want, byID)
		if !reflect.DeepEqual(alerts, want) {
			t.Errorf("alert rows:\n got %+v\nwant %+v", alerts, want)
		}
		incs, err := e.incidentRows(context.Background(), since, until)
		if err != nil {
			t.Fatal(err)
		}
		wantI := slices.Clone(b.Incidents)
		for i := range wantI {
			wantI[i].Time, wantI[i].OpenedAt = wantI[i].Time.Truncate(time.Second), wantI[i].OpenedAt.Truncate(time.Second)
		}
		byIDI := func(a, b IncidentRow) int { return int(a.ID>>1) - int(b.ID>>1) }
		slices.SortFunc(incs, byIDI)
		slices.SortFunc(wantI, byIDI)
		if !reflect.DeepEqual(incs, wantI) {
			t.Errorf("incident rows:\n got %+v\nwant %+v", incs, wantI)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEmbeddedDedup(t *testing.T) {
	dir := t.TempDir()
	e := openTestEmbedded(t, dir)
	b := embDataSet()
	embWrite(t, e, b)
	embWrite(t, e, b) // without Check: skipped all the same
	checkEmbeddedCounts(t, e, 11, 15)
	// A row twice in one batch, with new ones.
	extra := embAlertRow(5*time.Hour, "fp9", "New", "api", "firing", "", "", "", 1, false)
	embWrite(t, e, &Batch{Alerts: []AlertRow{extra, b.Alerts[0], extra}, Check: true})
	checkEmbeddedCounts(t, e, 12, 15)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	// Across a restart (the IDs are loaded from the segments), with a
	// cache of one day's IDs at a time.
	e = openTestEmbedded(t, dir)
	defer e.Close()
	e.maxIDs = 1
	b.Check = true
	embWrite(t, e, b)
	embWrite(t, e, &Batch{Alerts: []AlertRow{extra}})
	embWrite(t, e, b)
	checkEmbeddedCounts(t, e, 12, 15)
	if len(e.ids) != 1 {
		t.Errorf("%d ID sets cached, want 1", len(e.ids))
	}
	// The hand-built answers, plus the extra row (name "New", 5h).
	names, err := e.AlertNames(context.Background(), embT0, embAt(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 6 || names[0] != (NameStat{AlertName: "HighCPU", Episodes: 3, Refires: 1, Flapping: 1, Notifications: 6, Fingerprints: 2, Incidents: 1}) {
		t.Errorf("names after rewrites: %+v", names)
	}
	vol, err := e.Volume(context.Background(), Query{Since: embT0, Until: embAt(48 * time.Hour), Step: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if want := []VolumeRow{vr(0, "", 7, 10, 4), vr(24*time.Hour, "", 1, 2, 1)}; !reflect.DeepEqual(vol, want) {
		t.Errorf("volume after rewrites: %+v, want %+v", vol, want)
	}
}

func segSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestEmbeddedTornTail(t *testing.T) {
	b := embDataSet()
	first := &Batch{Alerts: b.Alerts[:4]}   // all on 2026-03-02
	second := &Batch{Alerts: b.Alerts[4:5]} // 2026-03-02 too
	var firstIDs, allIDs []uint64
	for _, r := range first.Alerts {
		firstIDs = append(firstIDs, r.ID)
	}
	allIDs = append(slices.Clone(firstIDs), second.Alerts[0].ID)
	cut := func(t *testing.T, path string, size int64) {
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
	}
	// Each tear damages the segment after the second write (of the frame
	// from good to full) and returns the size and rows open must leave.
	for _, tc := range []struct {
		name  string
		close bool // Close before the crash: the index covers the torn frame
		tear  func(t *testing.T, path string, good, full int64) (int64, []uint64)
	}{
		{"cut short after close", true, func(t *testing.T, path string, good, full int64) (int64, []uint64) {
			cut(t, path, full-3)
			return good, firstIDs
		}},
		{"cut short", false, func(t *testing.T, path string, good, full int64) (int64, []uint64) {
			cut(t, path, full-3)
			return good, firstIDs
		}},
		{"header cut short", false, func(t *testing.T, path string, good, full int64) (int64, []uint64) {
			cut(t, path, good+5)
			return good, firstIDs
		}},
		{"last frame garbled", false, func(t *testing.T, path string, good, full int64) (int64, []uint64) {
			data, _ := os.ReadFile(path)
			data[full-2] ^= 1
			os.WriteFile(path, data, 0o644)
			return good, firstIDs
		}},
		{"zeros after it", false, func(t *testing.T, path string, good, full int64) (int64, []uint64) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(make([]byte, 300))
			f.Close()
			return full, allIDs
		}},
		{"magic cut short", false, func(t *testing.T, path string, good, full int64) (int64, []uint64) {
			cut(t, path, 5)
			return 0, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "alerts", "2026-03-02.seg")
			e := openTestEmbedded(t, dir)
			embWrite(t, e, first)
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			good := segSize(t, path)
			e = openTestEmbedded(t, dir)
			embWrite(t, e, second)
			if tc.close {
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				// A crash: segments.idx does not cover the second write,
				// and the lock goes with the process.
				e.lock.Close()
			}
			wantSize, wantIDs := tc.tear(t, path, good, segSize(t, path))

			e = openTestEmbedded(t, dir)
			defer e.Close()
			if got := segSize(t, path); got != wantSize {
				t.Errorf("size after open %d, want %d (torn end cut off)", got, wantSize)
			}
			rows, err := e.alertRows(context.Background(), embT0, embAt(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, r := range rows {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, wantIDs) {
				t.Errorf("rows after open: %v, want %v", got, wantIDs)
			}
			checkEmbeddedCounts(t, e, int64(len(wantIDs)), 0)
			// Writing again stores what was lost, once.
			embWrite(t, e, first)
			embWrite(t, e, second)
			checkEmbeddedCounts(t, e, 5, 0)
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			e = openTestEmbedded(t, dir)
			checkEmbeddedCounts(t, e, 5, 0)
			names, err := e.AlertNames(context.Background(), embT0, embAt(24*time.Hour))
			if err != nil || len(names) != 2 || names[0].Episodes != 3 || names[1].Episodes != 1 {
				t.Errorf("names after repair: %+v, %v", names, err)
			}
		})
	}
}

func TestEmbeddedDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts", "2026-03-02.seg")
	b := embDataSet()
	e := openTestEmbedded(t, dir)
	embWrite(t, e, &Batch{Alerts: b.Alerts[:2]})
	embWrite(t, e, &Batch{Alerts: b.Alerts[2:4]})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[embMagicLen+embHeaderLen+20] ^= 0x40 // in the first frame's payload
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	wantErr := fmt.Sprintf("%s: damaged at offset %d", path, embMagicLen)

	// The index covers the file: open trusts it, the queries find damage.
	e = openTestEmbedded(t, dir)
	if _, err := e.Volume(context.Background(), Query{Since: embT0, Until: embAt(time.Hour), Step: time.Hour}); err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("Volume: err = %v, want %q", err, wantErr)
	}
	if _, err := e.AlertNames(context.Background(), embT0, embAt(time.Hour)); err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("AlertNames: err = %v, want %q", err, wantErr)
	}
	if err := e.Write(context.Background(), &Batch{Alerts: b.Alerts[4:5]}); err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("Write: err = %v, want %q", err, wantErr)
	}
	// Other days are fine.
	if _, err := e.Volume(context.Background(), Query{Since: embAt(24 * time.Hour), Until: embAt(48 * time.Hour), Step: time.Hour}); err != nil {
		t.Error(err)
	}
	e.Close()

	// Without the index, open reads the file and reports it.
	os.Remove(filepath.Join(dir, embIndexName))
	if _, err := OpenEmbedded(dir); err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("open: err = %v, want %q", err, wantErr)
	}

	// Junk at the end that is not a torn write is damage too.
	data[embMagicLen+embHeaderLen+20] ^= 0x40
	data = append(data, bytes.Repeat([]byte{0xab}, 40)...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	wantErr = fmt.Sprintf("%s: damaged at offset %d: bad frame header", path, len(data)-40)
	if _, err := OpenEmbedded(dir); err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("open with junk: err = %v, want %q", err, wantErr)
	}
	// A file that is not a segment.
	if err := os.WriteFile(path, []byte("hello, world"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenEmbedded(dir); err == nil || !strings.Contains(err.Error(), "not a segment") {
		t.Errorf("open with a foreign file: err = %v", err)
	}
}

// TestEmbeddedConcurrent writes while others query: every query sees whole
// writes (here: multiples of one write's rows), never less than before.
func TestEmbeddedConcurrent(t *testing.T) {
	e := openTestEmbedded(t, t.TempDir())
	defer e.Close()
	const writes, perWrite = 30, 150
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	wg.Go(func() {
		defer done.Store(true)
		for w := range writes {
			var b Batch
			for i := range perWrite {
				tm := embAt(time.Duration(i%3)*24*time.Hour + time.Duration(w)*time.Minute + time.Duration(i)*time.Second)
				b.Alerts = append(b.Alerts, AlertRow{ID: uint64(w*perWrite + i + 1), Time: tm, AlertName: fmt.Sprint("n", i%7),
					Fingerprint: fmt.Sprint("fp", i), Kind: "firing", Notifications: 1, Service: "svc"})
			}
			b.Incidents = []IncidentRow{{ID: uint64(w + 1), Time: embAt(time.Duration(w) * time.Minute), Incident: fmt.Sprint("I", w), Event: "opened", OpenedAt: embT0}}
			if err := e.Write(context.Background(), &b); err != nil {
				errs <- err
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			last := int64(0)
			for !done.Load() {
				rows, err := e.Volume(context.Background(), Query{Since: embT0, Until: embAt(72 * time.Hour), Step: time.Hour, By: "service"})
				if err != nil {
					errs <- err
					return
				}
				var alerts, incidents int64
				for _, r := range rows {
					alerts += r.Alerts
					incidents += r.Incidents
				}
				if alerts%perWrite != 0 || alerts < last || alerts/perWrite != incidents {
					errs <- fmt.Errorf("volume saw %d alerts, %d incidents (before: %d alerts)", alerts, incidents, last)
					return
				}
				last = alerts
				if _, err := e.AlertNames(context.Background(), embT0, embAt(72*time.Hour)); err != nil {
					errs <- err
					return
				}
				if _, err := e.Incidents(context.Background(), embT0, embAt(72*time.Hour)); err != nil {
					errs <- err
					return
				}
				if a, _, err := e.Counts(context.Background()); err != nil || a%perWrite != 0 {
					errs <- fmt.Errorf("counts: %d, %v", a, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkEmbeddedCounts(t, e, writes*perWrite, writes)
}

// embBenchRows makes n alert rows spread over days days from embT0, and
// incident rows for about one in 20 of them.
func embBenchRows(n, days int) ([]AlertRow, []IncidentRow) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []string{"firing", "firing", "firing", "firing", "refired", "resolved", "resolved", "resolved", "resolved", "resolved"}
	events := []string{"joined", "acknowledged", "classified", "resolved", "reopened"}
	alerts := make([]AlertRow, n)
	var incs []IncidentRow
	span := int64(days) * embDaySecs
	for i := range alerts {
		t := embT0.Add(time.Duration(rng.Int64N(span))*time.Second + time.Duration(rng.IntN(1e9)))
		fp := rng.IntN(50_000)
		name := fmt.Sprintf("Alert%03d", fp%300)
		svc := fmt.Sprintf("svc-%02d", fp%97)
		kind := kinds[rng.IntN(len(kinds))]
		inc := ""
		if rng.IntN(10) < 7 {
			inc = fmt.Sprintf("inc-%05d", rng.IntN(20_000))
		}
		notif := uint32(1)
		if kind == "resolved" {
			notif = uint32(rng.IntN(4))
		}
		alerts[i] = AlertRow{
			ID: rng.Uint64(), Time: t, Fingerprint: fmt.Sprintf("%016x", fp*2654435761), AlertName: name, Service: svc,
			Severity: "warning", Status: "firing", Kind: kind, StartsAt: t.Add(-time.Minute), Incident: inc,
			Team: fmt.Sprintf("team-%d", fp%12), Priority: fmt.Sprintf("P%d", fp%4+1), Notifications: notif,
			Flapping:    rng.IntN(20) == 0,
			LabelKeys:   []string{"alertname", "instance", "job", "service", "severity"},
			LabelValues: []string{name, fmt.Sprintf("host-%d:9100", fp%500), "node", svc, "warning"},
		}
		if i%20 == 0 {
			id := fmt.Sprintf("inc-%05d", i/20)
			incs = append(incs, IncidentRow{ID: rng.Uint64(), Time: t, Incident: id, Event: "opened", AlertName: name,
				RootCause: svc, Team: alerts[i].Team, Priority: alerts[i].Priority, OpenedAt: t, AlertCount: 1, Title: name + " on " + svc})
			for _, ev := range events[:rng.IntN(len(events)+1)] {
				t = t.Add(time.Duration(rng.IntN(3600)) * time.Second)
				incs = append(incs, IncidentRow{ID: rng.Uint64(), Time: t, Incident: id, Event: ev, Category: "capacity", AlertCount: 2})
			}
		}
	}
	return alerts, incs
}

func embWriteBatches(b *testing.B, e *Embedded, alerts []AlertRow, incs []IncidentRow, size int) {
	for i := 0; i < len(alerts); i += size {
		batch := &Batch{Alerts: alerts[i:min(i+size, len(alerts))]}
		if j := i / 20; j < len(incs) {
			batch.Incidents = incs[j:min(j+size/20, len(incs))]
		}
		if err := e.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmbedded: 1M alert rows (and ~175k incident rows) over 30 days,
// written in batches of 50k; then the queries over all of it.
//
//	go test ./history/ -run '^$' -bench '^BenchmarkEmbedded$' -benchtime 3x -benchmem
func BenchmarkEmbedded(b *testing.B) {
	const n, days = 1_000_000, 30
	alerts, incs := embBenchRows(n, days)
	since, until := embT0, embAt(days*24*time.Hour)
	b.Run("Write1M", func(b *testing.B) {
		for b.Loop() {
			e := openTestEmbedded(b, b.TempDir())
			embWriteBatches(b, e, alerts, incs, 50_000)
			e.Close()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	dir := b.TempDir()
	e := openTestEmbedded(b, dir)
	embWriteBatches(b, e, alerts, incs, 50_000)
	e.Close()
	var size int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, _ error) error {
		if fi != nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	b.Logf("%d alert rows, %d incident rows: %.1f MB on disk", n, len(incs), float64(size)/1e6)
	e = openTestEmbedded(b, dir)
	defer e.Close()
	ctx := context.Background()
	b.Run("Rewrite1M", func(b *testing.B) { // all skipped as stored
		for b.Loop() {
			embWriteBatches(b, e, alerts, incs, 50_000)
		}
	})
	b.Run("Open", func(b *testing.B) {
		for b.Loop() {
			openTestEmbedded(b, dir).Close()
		}
	})
	for _, q := range []Query{
		{Since: since, Until: until, Step: time.Hour},
		{Since: since, Until: until, Step: time.Hour, By: "service"},
		{Since: since, Until: until, Step: 24 * time.Hour, By: "alertname"},
		{Since: since, Until: until, Step: time.Hour, By: "team", Key: "team-3", KeySet: true},
	} {
		b.Run("Volume/"+q.By, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Volume(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("AlertNames", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.AlertNames(ctx, since, until); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Incidents", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.Incidents(ctx, since, until); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeRows", func(b *testing.B) { // every field of every alert row
		for b.Loop() {
			rows, err := e.alertRows(ctx, since, until)
			if err != nil || len(rows) != n {
				b.Fatal(len(rows), err)
			}
		}
	})
}

// embRandomSet is a random history over three days with small vocabularies,
// empty values and whole-minute times (with sub-second parts), so that keys,
// time ties and latest-value ties are frequent.
func embRandomSet(seed uint64, n int) *Batch {
	rng := rand.New(rand.NewPCG(seed, 7))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	when := func() time.Time {
		return embAt(time.Duration(rng.IntN(3*24*60))*time.Minute + time.Duration(rng.IntN(1e9)))
	}
	var b Batch
	for range n {
		t := when()
		kind := pick("firing", "refired", "resolved")
		fp := pick("f1", "f2", "f3", "f4", "f5", "")
		b.Alerts = append(b.Alerts, AlertRow{
			ID: eventID("a", fp, kind, timeKey(t)), Time: t, Fingerprint: fp, AlertName: pick("A", "B", "C", ""),
			Service: pick("api", "db", ""), Kind: kind, Status: "firing", StartsAt: t.Add(-time.Minute),
			Incident: pick("I1", "I2", "I3", "I4", ""), Team: pick("core", "web", ""), Priority: pick("P1", "P2", ""),
			Notifications: uint32(rng.IntN(3)), Flapping: rng.IntN(3) == 0,
		})
	}
	for i := range n / 2 {
		t := when()
		inc, ev := pick("I1", "I2", "I3", "I4", "I5"), pick("opened", "opened", "joined", "acknowledged", "resolved", "reopened", "classified")
		b.Incidents = append(b.Incidents, IncidentRow{
			ID: eventID("i", inc, ev, timeKey(t), fmt.Sprint(i)), Time: t, Incident: inc, Event: ev,
			AlertName: pick("A", "B", ""), RootCause: pick("api", "db", ""), Team: pick("core", "web", ""),
			Category: pick("x", "y", ""), Priority: pick("P1", "P2", ""), Signature: pick("s1", "s2", ""),
			Problem: pick("PRB-1", ""), Title: pick("t1", "t2", ""), OpenedAt: t.Add(-time.Duration(rng.IntN(120)) * time.Minute),
			AlertCount: uint32(rng.IntN(5)),
		})
	}
	return &b
}

// TestStoresGiveSameAnswers writes the same histories to both stores
// and compares every answer (skipped without clickhouse-server).
func TestStoresGiveSameAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse")
	}
	ctx := context.Background()
	for _, set := range []*Batch{embDataSet(), embRandomSet(1, 400), embRandomSet(2, 400)} {
		ch := openTestClickHouse(t)
		e := openTestEmbedded(t, t.TempDir())
		defer e.Close()
		for _, s := range []Store{ch, e} {
			if err := s.Write(ctx, set); err != nil {
				t.Fatal(err)
			}
		}
		same := func(what string, f func(s Store) (any, error)) {
			t.Helper()
			want, err := f(ch)
			if err != nil {
				t.Fatalf("%s: clickhouse: %v", what, err)
			}
			got, err := f(e)
			if err != nil {
				t.Fatalf("%s: embedded: %v", what, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s:\nembedded   %+v\nclickhouse %+v", what, got, want)
			}
		}
		same("counts", func(s Store) (any, error) { a, i, err := s.Counts(ctx); return [2]int64{a, i}, err })
		ranges := [][2]time.Time{
			{embAt(-24 * time.Hour), embAt(96 * time.Hour)},
			{embAt(90 * time.Minute), embAt(30 * time.Hour)},
			{embAt(10*time.Minute + 500*time.Millisecond), embAt(65*time.Minute + 200*time.Millisecond)},
			{embAt(5 * time.Hour), embAt(5 * time.Hour)},
			{embAt(-40*time.Minute + 250*time.Millisecond), embAt(50*time.Hour + 10*time.Minute)},
		}
		for _, r := range ranges {
			for _, by := range append([]string{""}, Dimensions...) {
				for _, step := range []time.Duration{time.Hour, 7 * time.Minute, 24 * time.Hour, 0} {
					q := Query{Since: r[0], Until: r[1], Step: step, By: by}
					same(fmt.Sprintf("volume %+v", q), func(s Store) (any, error) { return s.Volume(ctx, q) })
				}
				for _, key := range []string{"", "api", "A", "core", "P1", "DiskFull"} {
					q := Query{Since: r[0], Until: r[1], Step: time.Hour, By: by, Key: key, KeySet: true}
					same(fmt.Sprintf("volume %+v", q), func(s Store) (any, error) { return s.Volume(ctx, q) })
				}
			}
			same(fmt.Sprintf("incidents %v", r), func(s Store) (any, error) { return s.Incidents(ctx, r[0], r[1]) })
			same(fmt.Sprintf("alert names %v", r), func(s Store) (any, error) { return s.AlertNames(ctx, r[0], r[1]) })
			// The analytics ClickHouse summarises itself (incident_facts)
			// against the embedded store's, computed from Incidents.
			if !r[1].After(r[0]) {
				continue
			}
			for _, by := range Dimensions {
				for _, limit := range []int{1, 2, 3} {
					for _, step := range []time.Duration{time.Hour, 7 * time.Minute} {
						same(fmt.Sprintf("volume top %d by %s step %s %v", limit, by, step, r), func(s Store) (any, error) {
							return (&Analytics{Store: s}).Volume(ctx, r[0], r[1], step, by, limit)
						})
					}
				}
			}
			for _, by := range []string{"team", "priority", "team,priority"} {
				same(fmt.Sprintf("response %s %v", by, r), func(s Store) (any, error) {
					return (&Analytics{Store: s}).Response(ctx, r[0], r[1], by)
				})
			}
			same(fmt.Sprintf("problems %v", r), func(s Store) (any, error) { return (&Analytics{Store: s}).Problems(ctx, r[0], r[1], 0) })
			for _, w := range [][2]time.Duration{{12 * time.Hour, 24 * time.Hour}, {time.Hour, 47*time.Hour + 30*time.Second}, {20 * time.Minute, 30 * time.Minute}} {
				same(fmt.Sprintf("emerging %v %v", w, r), func(s Store) (any, error) {
					return (&Analytics{Store: s}).Emerging(ctx, r[1], w[0], w[1], 1, 0)
				})
			}
			// Emerging's thresholds hide most rows here: its counts too.
			for _, split := range []time.Time{r[0].Add(r[1].Sub(r[0]) / 2), r[0].Add(r[1].Sub(r[0])/3 + 500*time.Millisecond)} {
				same(fmt.Sprintf("signature counts %v %v", split, r), func(s Store) (any, error) {
					if fs, ok := s.(factSummarizer); ok {
						return fs.SignatureSummary(ctx, r[0], r[1], split)
					}
					facts, err := s.Incidents(ctx, r[0], r[1])
					return signatureCounts(facts, split), err
				})
			}
		}
	}
}
