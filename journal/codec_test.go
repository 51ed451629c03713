package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sift-aiops/sift/model"
)

// --- helpers ---------------------------------------------------------------

var stringPool = []string{"", "a", "alertname", "HighLatency", "ü", "日本語のラベル", "emoji 🚨", "with\x00nul",
	"\xff\xfe not utf-8", "quote\"and\\slash", strings.Repeat("x", 300)}

func randString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return stringPool[r.IntN(len(stringPool))]
	}
	b := make([]rune, r.IntN(20))
	for i := range b {
		switch r.IntN(4) {
		case 0:
			b[i] = rune(0x80 + r.IntN(0x10000-0x80))
		default:
			b[i] = rune(' ' + r.IntN(95))
		}
	}
	return string(b)
}

func randLabels(r *rand.Rand) model.LabelSet {
	switch r.IntN(6) {
	case 0:
		return nil
	case 1:
		return model.LabelSet{}
	}
	n := r.IntN(12)
	ls := make(model.LabelSet, n)
	for range n {
		ls[randString(r)] = randString(r)
	}
	return ls
}

var zone = time.FixedZone("X", 5*3600+30*60)

func randTime(r *rand.Rand) time.Time {
	var t time.Time
	switch r.IntN(8) {
	case 0:
		return time.Time{}
	case 1: // outside the int64-nanosecond range
		t = time.Date(1+r.IntN(9999), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), 0, 0, r.IntN(1e9), time.UTC)
	case 2:
		t = time.Unix(0, r.Int64()-math.MaxInt64/2*int64(r.IntN(3)))
	case 3:
		t = time.Now() // monotonic reading, Local
	default:
		t = time.Unix(1_700_000_000+r.Int64N(1e8), r.Int64N(1e9))
	}
	switch r.IntN(3) {
	case 0:
		t = t.In(zone)
	case 1:
		t = t.UTC()
	}
	return t
}

func randRecord(r *rand.Rand) *model.Record {
	rec := &model.Record{Seq: r.Uint64()}
	if r.IntN(10) != 0 {
		b := &model.Batch{At: randTime(r), Alerts: make([]model.Alert, r.IntN(6))}
		if r.IntN(2) == 0 {
			b.Source = randString(r)
		}
		for i := range b.Alerts {
			b.Alerts[i] = model.Alert{Labels: randLabels(r), Annotations: randLabels(r),
				StartsAt: randTime(r), EndsAt: randTime(r)}
			if r.IntN(2) == 0 {
				b.Alerts[i].GeneratorURL = randString(r)
			}
		}
		switch r.IntN(3) {
		case 0:
			b.Cursors = map[string]int64{}
		case 1:
			b.Cursors = map[string]int64{}
			for range 1 + r.IntN(4) {
				b.Cursors[randString(r)] = r.Int64() - math.MaxInt64/2
			}
		}
		rec.Batch = b
	}
	if rec.Batch == nil || r.IntN(8) == 0 {
		// Action strings go through JSON, which replaces invalid UTF-8.
		str := func() string { return strings.ToValidUTF8(randString(r), "\uFFFD") }
		a := &model.Action{At: randTime(r).Truncate(0), Kind: "assign", Incident: str(), Actor: str(), Value: str()}
		a.At = time.Unix(a.At.Unix()%(1<<34), int64(a.At.Nanosecond())) // JSON needs years 0-9999
		if r.IntN(2) == 0 {
			a.Class = &model.Classification{Team: str(), Confidence: r.Float64(), Sources: []string{str()}}
		}
		rec.Action = a
	}
	return rec
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if got != (time.Time{}) {
			t.Errorf("%s: zero time decoded as %#v", what, got)
		}
		return
	}
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("%s: got %v (%v), want the instant %v in UTC", what, got, got.Location(), want)
	}
}

func sameLabels(t *testing.T, what string, got, want model.LabelSet) {
	t.Helper()
	if len(want) == 0 {
		if got != nil {
			t.Errorf("%s: empty set decoded as %#v, want nil", what, got)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// sameRecord checks that got is want as it comes back from the binary
// codec: Seq not carried, empty maps and lists as nil, times in UTC.
func sameRecord(t *testing.T, got, want *model.Record) {
	t.Helper()
	if got.Seq != 0 {
		t.Errorf("Seq decoded as %d", got.Seq)
	}
	if (got.Batch == nil) != (want.Batch == nil) || (got.Action == nil) != (want.Action == nil) {
		t.Fatalf("kinds differ: got batch %v action %v", got.Batch != nil, got.Action != nil)
	}
	if w := want.Batch; w != nil {
		g := got.Batch
		sameTime(t, "batch At", g.At, w.At)
		if g.Source != w.Source {
			t.Errorf("source %q, want %q", g.Source, w.Source)
		}
		if len(w.Alerts) == 0 && g.Alerts != nil {
			t.Errorf("empty alert list decoded as %#v", g.Alerts)
		}
		if len(g.Alerts) != len(w.Alerts) {
			t.Fatalf("%d alerts, want %d", len(g.Alerts), len(w.Alerts))
		}
		for i := range w.Alerts {
			ga, wa := &g.Alerts[i], &w.Alerts[i]
			sameLabels(t, fmt.Sprint("alert ", i, " labels"), ga.Labels, wa.Labels)
			sameLabels(t, fmt.Sprint("alert ", i, " annotations"), ga.Annotations, wa.Annotations)
			sameTime(t, fmt.Sprint("alert ", i, " startsAt"), ga.StartsAt, wa.StartsAt)
			sameTime(t, fmt.Sprint("alert ", i, " endsAt"), ga.EndsAt, wa.EndsAt)
			if ga.GeneratorURL != wa.GeneratorURL {
				t.Errorf("alert %d generatorURL %q, want %q", i, ga.GeneratorURL, wa.GeneratorURL)
			}
		}
		if len(w.Cursors) == 0 {
			if g.Cursors != nil {
				t.Errorf("empty cursors decoded as %v", g.Cursors)
			}
		} else if !reflect.DeepEqual(g.Cursors, w.Cursors) {
			t.Errorf("cursors %v, want %v", g.Cursors, w.Cursors)
		}
	}
	if w := want.Action; w != nil {
		g := *got.Action
		if !g.At.Equal(w.At) {
			t.Errorf("action at %v, want %v", g.At, w.At)
		}
		g.At = w.At
		if !reflect.DeepEqual(&g, w) {
			t.Errorf("action %+v %+v, want %+v %+v", g, g.Class, *w, w.Class)
		}
	}
}

func mustEncode(t testing.TB, rec *model.Record) []byte {
	t.Helper()
	b, err := appendRecord(nil, rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// --- round trip ------------------------------------------------------------

func TestCodecRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		rec := randRecord(r)
		enc := mustEncode(t, rec)
		if enc[0] != codecVersion {
			t.Fatalf("record %d: first byte %d", i, enc[0])
		}
		got, err := decodeRecord(enc)
		if err != nil {
			t.Fatalf("record %d: %v\n%x", i, err, enc)
		}
		sameRecord(t, got, rec)
		// Deterministic: the same record (map order is random) and its
		// decoded form encode to the same bytes.
		if again := mustEncode(t, rec); !bytes.Equal(again, enc) {
			t.Fatalf("record %d encodes differently on a second call", i)
		}
		if re := mustEncode(t, got); !bytes.Equal(re, enc) {
			t.Fatalf("record %d: decoded record re-encodes differently", i)
		}
		if t.Failed() {
			t.Fatalf("record %d failed: %+v", i, rec)
		}
	}
}

func TestCodecTimes(t *testing.T) {
	cases := []time.Time{
		{},
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Unix(-1, 999_999_999),
		time.Unix(0, math.MaxInt64),
		time.Unix(0, math.MinInt64),
		time.Unix(-9223372036, 0), // just outside the nanosecond range
		time.Unix(9223372036, 854775808),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), // zero time plus 1 ns
		time.Date(1, 1, 1, 0, 0, 0, 0, zone),     // not IsZero: a different instant
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 123, zone),
		time.Now(),
	}
	for _, tm := range cases {
		rec := &model.Record{Batch: &model.Batch{At: tm, Alerts: []model.Alert{{StartsAt: tm, EndsAt: tm}}}}
		got, err := decodeRecord(mustEncode(t, rec))
		if err != nil {
			t.Fatalf("%v: %v", tm, err)
		}
		sameTime(t, tm.String(), got.Batch.At, tm)
		sameTime(t, tm.String(), got.Batch.Alerts[0].StartsAt, tm)
		if tm.IsZero() && !got.Batch.Alerts[0].EndsAt.IsZero() {
			t.Errorf("zero endsAt decoded as %v", got.Batch.Alerts[0].EndsAt)
		}
	}
}

// The binary form is what makes the journal cheaper; keep it so.
func TestCodecIsCompact(t *testing.T) {
	rec := fixture(100, true)
	enc := mustEncode(t, rec)
	js, _ := json.Marshal(rec)
	if len(enc)*2 > len(js) {
		t.Fatalf("binary record is %d bytes, JSON %d: expected at most half", len(enc), len(js))
	}
	t.Logf("typical batch of 100: binary %d bytes/alert, JSON %d bytes/alert", len(enc)/100, len(js)/100)
}

// --- compatibility ---------------------------------------------------------

// A journal written by the JSON version (records stored as
// json.Marshal(rec) with Seq 0, as commit() did) is replayed, and new
// binary records continue its sequence.
func TestLegacyJSONJournalReplays(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	var legacy []*model.Record
	err := writeOldJournal(dir, func(tx *bolt.Tx) error {
		lb := tx.Bucket(oldBucketLog)
		for range 50 {
			rec := randRecord(r)
			if rec.Batch != nil {
				rec.Batch.At = rec.Batch.At.Truncate(time.Second)
				for i := range rec.Batch.Alerts { // JSON cannot hold years outside 0-9999
					a := &rec.Batch.Alerts[i]
					a.StartsAt, a.EndsAt = time.Unix(1_700_000_000, 5).In(zone), time.Time{}
				}
				if rec.Batch.At.Year() > 9999 || rec.Batch.At.Year() < 0 {
					rec.Batch.At = time.Unix(1, 0)
				}
			}
			rec.Seq = 0
			js, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			seq, _ := lb.NextSequence()
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], seq)
			if err := lb.Put(k[:], js); err != nil {
				return err
			}
			legacy = append(legacy, rec)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	j, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.LastSeq() != 50 {
		t.Fatalf("LastSeq after legacy records = %d", j.LastSeq())
	}
	newRec := fixture(3, true)
	if err := j.Append(context.Background(), newRec); err != nil {
		t.Fatal(err)
	}
	if newRec.Seq != 51 {
		t.Fatalf("new record got seq %d", newRec.Seq)
	}
	n := 0
	err = j.Replay(0, func(rec *model.Record) error {
		n++
		if rec.Seq != uint64(n) {
			return fmt.Errorf("seq %d at position %d", rec.Seq, n)
		}
		if n <= 50 {
			// Decoded with encoding/json exactly as before.
			var want model.Record
			js, _ := json.Marshal(legacy[n-1])
			json.Unmarshal(js, &want)
			want.Seq = rec.Seq
			if !reflect.DeepEqual(rec, &want) {
				return fmt.Errorf("legacy record %d: got %+v, want %+v", n, rec, want)
			}
			return nil
		}
		rec.Seq = 0
		sameRecord(t, rec, newRec)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 51 {
		t.Fatalf("replayed %d records", n)
	}
}

// --- corrupt input ---------------------------------------------------------

func TestDecodeCorruptInput(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var samples [][]byte
	for range 200 {
		samples = append(samples, mustEncode(t, randRecord(r)))
	}
	samples = append(samples, mustEncode(t, fixture(5, true)))
	// Every strict prefix of a valid record is an error, never a panic.
	for _, s := range samples {
		for n := 0; n < len(s); n++ {
			if rec, err := decodeRecord(s[:n]); err == nil {
				t.Fatalf("prefix %d of %x decoded: %+v", n, s, rec)
			}
		}
		if _, err := decodeRecord(append(s[:len(s):len(s)], 0)); err == nil || !strings.Contains(err.Error(), "trailing") {
			t.Fatalf("trailing byte: %v", err)
		}
	}

	huge := binary.AppendUvarint(nil, 1<<62)
	badVarint := bytes.Repeat([]byte{0xff}, 11)
	hdr := []byte{codecVersion, kindBatch, 0}   // batch, zero time, no source
	alertHdr := append(append(hdr[:3:3], 1), 0) // one alert, flags 0
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":               {nil, "empty record"},
		"unknown version":     {[]byte{7, 1}, "unknown record format version 7"},
		"bad json":            {[]byte(`{"batch":`), "legacy JSON"},
		"unknown kinds":       {[]byte{codecVersion, 0x80}, "unknown bits"},
		"unknown batch flags": {[]byte{codecVersion, kindBatch, 0x40}, "batch flags"},
		"bad time form":       {[]byte{codecVersion, kindBatch, 3}, "time form"},
		"huge alert count":    {append(hdr[:3:3], huge...), "alert count: count 4611686018427387904 exceeds"},
		"bad varint count":    {append(hdr[:3:3], badVarint...), "overflows"},
		"bad varint time":     {append([]byte{codecVersion, kindBatch, timeNano}, badVarint...), "overflows"},
		"huge label count":    {append(alertHdr[:5:5], huge...), "alert 0: labels: count 4611686018427387904 exceeds"},
		"bad string ref":      {append(alertHdr[:5:5], 1, 3, 0), "alert 0: labels: reference to string 1 of 0"},
		"huge string":         {append(append(alertHdr[:5:5], 1), huge...), "alert 0: labels: length 2305843009213693952 exceeds"},
		"unknown alert flags": {append(hdr[:3:3], 1, 0x80, 0), "alert 0: flags: unknown bits"},
		"duplicate labels":    {append(alertHdr[:5:5], 2, 2, 'a', 0, 2, 'a', 0), "labels: duplicate names"},
		"nanos out of range": {append(append([]byte{codecVersion, kindBatch, timeWide}, 2),
			binary.AppendUvarint(nil, 1e9)...), "nanoseconds 1000000000 out of range"},
		"bad action json":   {[]byte{codecVersion, kindAction, 2, '{', '}' + 1}, "action"},
		"huge action":       {append([]byte{codecVersion, kindAction}, huge...), "action length: length 4611686018427387904 exceeds"},
		"empty cursors":     {[]byte{codecVersion, kindBatch, batchCursors, 0, 0}, "cursor count: zero"},
		"huge cursors":      {append([]byte{codecVersion, kindBatch, batchCursors, 0}, huge...), "cursor count"},
		"dup cursors":       {[]byte{codecVersion, kindBatch, batchCursors, 0, 2, 2, 'k', 2, 2, 'k', 4}, "duplicate cursor"},
		"empty annotations": {append(hdr[:3:3], 1, alertAnnotations, 0, 0), "annotations: empty"},
	}
	for name, c := range cases {
		rec, err := decodeRecord(c.data)
		if err == nil {
			t.Errorf("%s: decoded %+v", name, rec)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", name, err, c.want)
		}
	}
}

// A corrupt record in the file stops replay with an error naming it.
func TestReplayNamesCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), batch(1)); err != nil {
		t.Fatal(err)
	}
	// Record 2 is cut short by 3 bytes before it is framed, so its CRC
	// is valid and only decoding finds the damage.
	data := mustEncode(t, batch(2))
	req := &request{rec: batch(2), data: data[:len(data)-3], err: make(chan error, 1)}
	j.reqs <- req
	if err := <-req.err; err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), batch(3)); err != nil {
		t.Fatal(err)
	}
	var seen []uint64
	err = j.Replay(0, func(r *model.Record) error { seen = append(seen, r.Seq); return nil })
	j.Close()
	if err == nil || !strings.Contains(err.Error(), "journal: record 2: at byte 24: alert 0: labels") {
		t.Fatalf("replay of a truncated record: %v", err)
	}
	if fmt.Sprint(seen) != "[1]" {
		t.Fatalf("records before the corrupt one: %v", seen)
	}
}

// An action that cannot be encoded is refused before it is queued.
func TestAppendRefusesUnencodableAction(t *testing.T) {
	j, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rec := &model.Record{Action: &model.Action{Kind: "classify", Class: &model.Classification{Confidence: math.NaN()}}}
	if err := j.Append(context.Background(), rec); err == nil || !strings.Contains(err.Error(), "encode action") {
		t.Fatalf("NaN confidence: %v", err)
	}
	if j.LastSeq() != 0 {
		t.Fatalf("refused record got committed: LastSeq %d", j.LastSeq())
	}
}

func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		f.Add(mustEncode(f, randRecord(r)))
	}
	f.Add(mustEncode(f, fixture(3, true)))
	js, _ := json.Marshal(fixture(2, true))
	f.Add(js)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := decodeRecord(data)
		if err != nil {
			if rec != nil {
				t.Fatal("record returned with an error")
			}
			return
		}
		// Whatever decodes re-encodes, and that encoding is stable.
		enc, err := appendRecord(nil, rec)
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		again, err := decodeRecord(enc)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		sameRecord(t, again, rec)
		if enc2, _ := appendRecord(nil, again); !bytes.Equal(enc, enc2) {
			t.Fatal("encoding not stable")
		}
	})
}

// --- benchmarks ------------------------------------------------------------

// fixture is a batch of n alerts shaped like benchmarks/ingestload's:
// nine labels, summary and description, generator URL, start and end.
// small drops to four labels and a summary (BenchmarkAppendDurable's).
func fixture(n int, typical bool) *model.Record {
	now := time.Unix(1_760_000_000, 123_456_789)
	alerts := make([]model.Alert, n)
	for i := range alerts {
		svc := fmt.Sprintf("svc-%d", i%7)
		ls := model.LabelSet{"alertname": "HighLatency", "service": svc, "instance": fmt.Sprintf("10.0.%d.%d:9100", i/256, i%256), "severity": "warning"}
		ann := model.LabelSet{"summary": "latency is high"}
		a := model.Alert{Labels: ls, Annotations: ann, StartsAt: now, EndsAt: now.Add(5 * time.Minute)}
		if typical {
			ls["cluster"], ls["namespace"], ls["team"], ls["job"] = "prod-eu-1", "payments", "sre", "node"
			ls["pod"] = fmt.Sprintf("%s-%x", svc, i*7919)
			ann["summary"] = fmt.Sprintf("HighLatency on %s (%s)", ls["instance"], svc)
			ann["description"] = fmt.Sprintf("HighLatency has fired for %s in prod-eu-1/payments; see the runbook for %s.", ls["pod"], svc)
			a.GeneratorURL = "http://prometheus.example/graph"
		}
		alerts[i] = a
	}
	return &model.Record{Batch: &model.Batch{At: now, Source: "amv2", Alerts: alerts}}
}

func benchCodec(b *testing.B, typical bool, encode func([]byte, *model.Record) []byte, decode func([]byte)) {
	const n = 100
	rec := fixture(n, typical)
	enc := encode(nil, rec)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = encode(buf[:0], rec)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/alert")
		b.ReportMetric(float64(len(enc))/n, "bytes/alert")
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decode(enc)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/alert")
	})
}

func BenchmarkCodec(b *testing.B) {
	// As Append does: a reused encoder.
	e := &encoder{}
	binEnc := func(dst []byte, rec *model.Record) []byte {
		e.buf = dst
		out, err := e.encode(rec)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	binDec := func(data []byte) {
		if _, err := decodeRecord(data); err != nil {
			b.Fatal(err)
		}
	}
	// The previous format, for comparison.
	jsonEnc := func(_ []byte, rec *model.Record) []byte {
		out, err := json.Marshal(rec)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	for _, typical := range []bool{false, true} {
		shape := "small"
		if typical {
			shape = "typical"
		}
		b.Run(shape+"/binary", func(b *testing.B) { benchCodec(b, typical, binEnc, binDec) })
		b.Run(shape+"/json", func(b *testing.B) { benchCodec(b, typical, jsonEnc, binDec) })
	}
}

// TestCodecLargeLabelSets covers label sets above the insertion-sort size:
// they round-trip and encode deterministically (names in order).
func TestCodecLargeLabelSets(t *testing.T) {
	for _, n := range []int{15, 16, 17, 40, 300} {
		ls := make(model.LabelSet, n)
		for i := range n {
			ls[fmt.Sprintf("l%03d_%d", (i*37)%n, i)] = fmt.Sprint("v", i%7)
		}
		rec := &model.Record{Batch: &model.Batch{At: time.Unix(1700000000, 0).UTC(), Alerts: []model.Alert{{Labels: ls, Annotations: ls}}}}
		enc := mustEncode(t, rec)
		got, err := decodeRecord(enc)
		if err != nil {
			t.Fatalf("%d labels: %v", n, err)
		}
		sameRecord(t, got, rec)
		for range 5 {
			if again := mustEncode(t, rec); !bytes.Equal(again, enc) {
				t.Fatalf("%d labels: encoding depends on map order", n)
			}
		}
	}
}

// TestCodecPositionalShortcut checks that comparing each label with the
// one at the same position in the previous alert (to spare string table
// lookups) writes exactly the bytes of the plain lookups: alerts sharing
// some names and values, other label counts, strings too short for the
// table, and a string table that fills up (maxShared) in the middle.
func TestCodecPositionalShortcut(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
	for i := range 300 {
		n := 1 + r.IntN(40)
		if i%50 == 0 {
			n = 2500 // more than maxShared distinct strings
		}
		b := &model.Batch{At: time.Unix(1700000000, 0).UTC()}
		for j := range n {
			ls := model.LabelSet{"alertname": pick("A", "Bee", "Cee"), "cluster": pick("c1", "c2"), "x": pick("", "1", "22")}
			for k := range r.IntN(4) {
				ls[pick("a", "bb", "zz", "instance")+fmt.Sprint(k)] = fmt.Sprint(r.IntN(3), "-", j%7)
			}
			if n > 1000 {
				for k := range 8 {
					ls[fmt.Sprint("l", k)] = fmt.Sprint(j, "/", k)
				}
			}
			a := model.Alert{Labels: ls, StartsAt: b.At}
			if r.IntN(3) > 0 {
				a.Annotations = model.LabelSet{"summary": pick("s", "same summary", fmt.Sprint("s", j))}
			}
			b.Alerts = append(b.Alerts, a)
		}
		rec := &model.Record{Batch: b}
		fast, plain := &encoder{}, &encoder{plain: true}
		got, err := fast.encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		want, err := plain.encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d (%d alerts): the shortcut changes the encoding", i, n)
		}
		// The same encoder again (as from the pool): same bytes.
		fast.buf = fast.buf[:0]
		if again, _ := fast.encode(rec); !bytes.Equal(again, want) {
			t.Fatalf("record %d: a reused encoder writes other bytes", i)
		}
		dec, err := decodeRecord(got)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		sameRecord(t, dec, rec)
	}
}
