package ingest

import (
	"fmt"
	"hash/maphash"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// sessionStream is a stream of messages as a Kafka topic may carry them:
// single alerts sharing times and URLs, arrays, escapes, bad messages
// between good ones, other formats.
func sessionStream() []string {
	one := func(i int, starts, url string) string {
		return fmt.Sprintf(`{"labels":{"alertname":"A%d","instance":"10.0.0.%d:9100","severity":"critical"},"annotations":{"summary":"s %d","empty":""},"startsAt":%q,"endsAt":"2026-11-24T23:53:18Z","generatorURL":%q}`,
			i%3, i, i, starts, url)
	}
	var msgs []string
	for i := range 6 {
		msgs = append(msgs, one(i, "2026-11-24T22:53:18.783Z", "http://p/graph"))
	}
	msgs = append(msgs,
		`{"labels":{"alertname":"B"},"startsAt":"2026-11-24T22:53:18.783\u005a","generatorURL":"http:\/\/p\/graph"}`, // same values, escaped
		one(7, "2026-11-24T22:53:18.783Z", "http://p/graph"),
		"{\"labels\":{\"alertname\":\"C\"},\"startsAt\":\"2026-11-24T22:53:18.783Z\n\"}", // raw newline: invalid
		`{"labels":{"alertname":"D"},"startsAt":"2026-11-24T22:53:18.783Z"}`,
		`{"labels":{"alertname":"E"},"startsAt":"yesterday"}`, // invalid time
		`{"labels":{"alertname":"E"},"startsAt":"yesterday"}`,
		`{"labels":{"alertname":"F"},"startsAt":"2026-11-24T23:00:00Z","endsAt":"2026-11-24T22:00:00Z"}`, // ends before it starts
		`[{"labels":{"alertname":"G"}},{"labels":{"bad-name":"x","alertname":"G"}}]`,                     // second alert invalid
		`[{"labels":{"alertname":"H","a":"1","a":"2"}},{"labels":{"alertname":"H","a":""},"startsAt":"2026-11-24T22:53:18.783Z"}]`,
		`[]`,
		`{"labels":{"alertname":"I"},"startsAt":"2026-11-24T22:53:18.783Z","extra":1}`, // declined by the fast path
		`{"labels":{"alertname":"J"}`,
		`{"name":"disk full","service":"db","host":"db-1","severity":"critical"}`, // a generic event
		`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"W"},"startsAt":"2026-11-24T22:53:18.783Z"}]}`,
		string(batchBody(3)),
		one(8, "2026-11-24T22:53:18.783Z", "http://p/graph"),
		``,
		// Sets seen before (the set cache): after a rejected alert, with
		// escapes, empty values, dropped labels, the same bytes as labels
		// and as annotations, twice in one array, a repeated key.
		`{"labels":{"alertname":"E"}}`,
		`{"labels":{"alertname":"\u0045","x":""},"annotations":{"alertname":"\u0045","x":""}}`,
		`{"labels":{"alertname":"\u0045","x":""},"annotations":{"alertname":"\u0045","x":""}}`,
		`[{"labels":{"alertname":"K","instance":"i"},"annotations":{}},{"labels":{"alertname":"K","instance":"i"},"annotations":{}}]`,
		`{"labels":{"alertname":"K","instance":"i"},"annotations":{},"annotations":{"a":"b"}}`,
		`{"labels":{"instance":"i"}}`,
		`{"labels":{"instance":"i"}}`,
		`{"labels":{"alertname":"L","bad-name":"1"}}`,
		`{"labels":{"alertname":"L","bad-name":"1"}}`,
		`{"annotations":{"alertname":"K","instance":"i"},"labels":{"alertname":"K","instance":"i"}}`,
		// Detection: without labels an object is an event; an array is
		// what its first element is; keys are matched case-insensitively.
		`{"annotations":{"summary":"x"}}`,
		`{}`,
		`[{}]`,
		`[{"annotations":{}},{"labels":{"alertname":"X"}}]`,
		`[{"labels":{"alertname":"X"}},{"annotations":{}}]`,
		`{"Labels":{"alertname":"X"}}`,
		`{"labels":{"alertname":"X"},"Summary":"s"}`,
		`[{"labels":{"alertname":"X"}},{"labels":{"alertname":"Y"},"name":"n"}]`,
		`{"labels":{"alertname":"X"},"startsAt":"bad"}`,
		// Hostile input (the limits, UTF-8, the time range), each twice:
		// a rejected set must not be remembered as checked.
		manyLabelsMsg(65), manyLabelsMsg(65), manyLabelsMsg(64),
		`{"labels":{"alertname":"M","v":"`+strings.Repeat("v", DefaultMaxLabelBytes+1)+`"}}`,
		`{"labels":{"alertname":"M","v":"`+strings.Repeat("v", DefaultMaxLabelBytes+1)+`"}}`,
		"{\"labels\":{\"alertname\":\"M\",\"v\":\"\xff\"}}",
		"{\"labels\":{\"alertname\":\"M\",\"v\":\"\\t\xff\"}}",
		`{"labels":{"alertname":"M"},"startsAt":"9999-01-01T00:00:00Z"}`,
		`{"labels":{"alertname":"M"},"startsAt":"1970-01-01T00:00:00Z"}`,
		`{"labels":{"alertname":"M"},"startsAt":"0001-01-01T00:00:00Z"}`,
	)
	return msgs
}

// manyLabelsMsg is one alert with n labels (the instance label, dropped
// in TestSessionMatchesDecoder, not among them).
func manyLabelsMsg(n int) string {
	var b strings.Builder
	b.WriteString(`{"labels":{"alertname":"Many"`)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, `,"l%d":"v"`, i)
	}
	b.WriteString(`}}`)
	return b.String()
}

// TestSessionMatchesDecoder decodes a stream through one Session (in
// several orders, with and without format detection) and checks every
// message against a fresh Decoder: the same alerts or the same error, and
// nothing of a rejected message appended.
func TestSessionMatchesDecoder(t *testing.T) {
	at := time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)
	msgs := sessionStream()
	orders := [][]int{make([]int, len(msgs)), make([]int, len(msgs)), nil}
	for i := range msgs {
		orders[0][i] = i
		orders[1][i] = len(msgs) - 1 - i
	}
	for i := 0; i < 3*len(msgs); i++ { // each message after each other one, repeated
		orders[2] = append(orders[2], (i*7)%len(msgs))
	}
	d := NewDecoder(Config{DropLabels: []string{"instance"}})
	for _, format := range []string{"", FormatAMv2} {
		for oi, order := range append(orders, orders...) {
			s := d.NewSession()
			if oi >= len(orders) {
				s = d.NewStreamSession() // remembers the sets it decoded
			}
			var got []model.Alert
			for _, mi := range order {
				msg := []byte(msgs[mi])
				want, werr := d.Decode(format, msg, at)
				n0 := len(got)
				var err error
				got, err = s.AppendDecode(got, format, msg, at)
				name := fmt.Sprintf("format %q order %d message %d %.60q", format, oi, mi, msgs[mi])
				if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
					t.Fatalf("%s: error %v, want %v", name, err, werr)
				}
				if err != nil {
					if len(got) != n0 {
						t.Fatalf("%s: rejected message appended %d alerts", name, len(got)-n0)
					}
					continue
				}
				if !reflect.DeepEqual(got[n0:], want) && !(len(want) == 0 && len(got) == n0) {
					t.Fatalf("%s:\n got %#v\nwant %#v", name, got[n0:], want)
				}
			}
		}
	}
}

// TestSessionKeepsNoMessage checks that the alerts a Session returns do
// not alias its scratch: decoding the next message does not change them.
func TestSessionKeepsNoMessage(t *testing.T) {
	at := time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)
	s := NewDecoder(Config{}).NewStreamSession()
	buf := []byte(`{"labels":{"alertname":"A","x":"1"},"startsAt":"2026-11-24T22:53:18.783Z","generatorURL":"http://u"}`)
	first, err := s.AppendDecode(nil, FormatAMv2, buf, at)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf { // the consumer's fetch buffer is reused
		buf[i] = ' '
	}
	if _, err := s.AppendDecode(nil, FormatAMv2, []byte(`[{"labels":{"alertname":"B","x":"2"}}]`), at); err != nil {
		t.Fatal(err)
	}
	want := model.Alert{Labels: model.LabelSet{"alertname": "A", "x": "1"}, GeneratorURL: "http://u",
		StartsAt: time.Date(2026, 11, 24, 22, 53, 18, 783e6, time.UTC)}
	if len(first) != 1 || !reflect.DeepEqual(first[0], want) {
		t.Fatalf("first alert changed: %#v", first)
	}
	if strings.TrimSpace(string(buf)) != "" {
		t.Fatal("buffer not overwritten")
	}
}

// BenchmarkSessionSingleAlerts decodes batches of 1000 one-alert messages
// cycling over 20,000 identities (as the kafkaload benchmark).
func BenchmarkSessionSingleAlerts(b *testing.B) {
	const n = 1000
	msgs := make([][]byte, 20*n)
	for i := range msgs {
		msgs[i] = []byte(fmt.Sprintf(`{"annotations":{"description":"x %d has fired.","summary":"KubePodCrashLooping on 10.0.%d.%d:9100 (api)"},"endsAt":"2026-11-24T23:58:21Z","generatorURL":"http://prometheus.example/graph","labels":{"alertname":"KubePodCrashLooping","cluster":"prod-eu-1","instance":"10.0.%d.%d:9100","job":"kube-state-metrics","namespace":"default","pod":"api-%x","service":"api","severity":"warning","team":"core"},"startsAt":"2026-11-24T22:53:18Z"}`,
			i, i/256, i%256, i/256, i%256, i*7919))
	}
	d := NewDecoder(Config{})
	b.Run("decoder", func(b *testing.B) {
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			out := make([]model.Alert, 0, n)
			for _, m := range msgs[k*n : (k+1)*n] {
				a, err := d.Decode(FormatAMv2, m, now)
				if err != nil {
					b.Fatal(err)
				}
				out = append(out, a...)
			}
			k = (k + 1) % 20
		}
	})
	for _, stream := range []bool{false, true} {
		name := "session"
		if stream {
			name = "stream-session" // remembers the label and annotation sets
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			s := d.NewSession()
			if stream {
				s = d.NewStreamSession()
			}
			k := 0
			for b.Loop() {
				out := make([]model.Alert, 0, n)
				for _, m := range msgs[k*n : (k+1)*n] {
					var err error
					if out, err = s.AppendDecode(out, FormatAMv2, m, now); err != nil {
						b.Fatal(err)
					}
				}
				k = (k + 1) % 20
			}
		})
	}
	// The worst case for the set cache: every message new to it (a new
	// session for every 1000 messages; "new-session" is the same without
	// the set cache).
	for _, stream := range []bool{false, true} {
		name := "new-session"
		if stream {
			name = "new-stream-session"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			k := 0
			for b.Loop() {
				s := d.NewSession()
				if stream {
					s = d.NewStreamSession()
				}
				out := make([]model.Alert, 0, n)
				for _, m := range msgs[k*n : (k+1)*n] {
					var err error
					if out, err = s.AppendDecode(out, FormatAMv2, m, now); err != nil {
						b.Fatal(err)
					}
				}
				k = (k + 1) % 20
			}
		})
	}
}

// TestSessionSharesCheckedSets checks the set cache: an alert repeated
// with the same label and annotation bytes gets the very sets decoded the
// second time (when they were kept), already normalised, and decoding them again never writes
// to them (a reader on another goroutine, as the engine, runs meanwhile:
// go test -race reports a write).
func TestSessionSharesCheckedSets(t *testing.T) {
	at := time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)
	s := NewDecoder(Config{}).NewStreamSession() // drops prometheus_replica and replica
	msg := []byte(`{"labels":{"alertname":"A","replica":"a","empty":"","x":"1"},"annotations":{"summary":"s","e":""},"startsAt":"2026-11-24T22:53:18Z"}`)
	first, err := s.AppendDecode(nil, FormatAMv2, msg, at)
	if err != nil {
		t.Fatal(err)
	}
	want := model.Alert{Labels: model.LabelSet{"alertname": "A", "x": "1"}, Annotations: model.LabelSet{"summary": "s"},
		StartsAt: time.Date(2026, 11, 24, 22, 53, 18, 0, time.UTC)}
	if !reflect.DeepEqual(first[0], want) {
		t.Fatalf("first decode: %#v", first[0])
	}
	// The second time the sets are decoded again, and kept.
	second, err := s.AppendDecode(nil, FormatAMv2, msg, at)
	if err != nil {
		t.Fatal(err)
	}
	same := func(a, b model.LabelSet) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	if same(second[0].Labels, first[0].Labels) || !reflect.DeepEqual(second[0], want) {
		t.Fatalf("second decode: %#v", second[0])
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			_ = second[0].Labels.Fingerprint()
			_ = second[0].Annotations["summary"]
		}
	}()
	for range 200 {
		again, err := s.AppendDecode(nil, FormatAMv2, msg, at)
		if err != nil {
			t.Fatal(err)
		}
		if !same(again[0].Labels, second[0].Labels) || !same(again[0].Annotations, second[0].Annotations) {
			t.Fatal("a repeated alert did not get the sets kept")
		}
		if !reflect.DeepEqual(again[0], want) {
			t.Fatalf("repeat: %#v", again[0])
		}
	}
	<-done
	// Other bytes (here: another value) are decoded anew.
	other, err := s.AppendDecode(nil, FormatAMv2, []byte(`{"labels":{"alertname":"A","replica":"a","empty":"","x":"2"}}`), at)
	if err != nil {
		t.Fatal(err)
	}
	if got := other[0].Labels; !reflect.DeepEqual(got, model.LabelSet{"alertname": "A", "x": "2"}) {
		t.Fatalf("other labels: %v", got)
	}
	if !reflect.DeepEqual(first[0], want) || !reflect.DeepEqual(second[0], want) {
		t.Fatalf("earlier alerts changed: %#v %#v", first[0], second[0])
	}
}

// TestSetCacheBounded checks that the set cache keeps a set from its
// second sighting on, never answers with the set of other bytes that
// have the same hash, keeps at most two generations of maxSetBytes, and
// keeps the sets still in use.
func TestSetCacheBounded(t *testing.T) {
	c := newSetCache()
	see := func(kind int, raw []byte, ls model.LabelSet) (model.LabelSet, bool) {
		h, got, ok := c.get(kind, raw)
		if !ok {
			c.add(kind, h, raw, ls)
		}
		return got, ok
	}
	hot := []byte(`{"h":"1"}`)
	if _, ok := see(0, hot, model.LabelSet{"h": "1"}); ok {
		t.Fatal("found before it was added")
	}
	if _, ok := see(0, hot, model.LabelSet{"h": "1"}); ok {
		t.Fatal("kept after one sighting")
	}
	if ls, ok := see(0, hot, nil); !ok || ls["h"] != "1" {
		t.Fatalf("not kept after two sightings: %v %v", ls, ok)
	}
	if _, ok := see(1, hot, nil); ok {
		t.Fatal("a labels set answered for annotations")
	}
	// Same hash, other bytes: a miss.
	other := []byte(`{"h":"2"}`)
	h := maphash.Bytes(c.seed, other)
	c.cur[0][h] = setEntry{key: string(hot), ls: model.LabelSet{"h": "1"}}
	if ls, ok := see(0, other, model.LabelSet{"h": "2"}); ok {
		t.Fatalf("bytes %s answered with the set of %s: %v", other, hot, ls)
	}

	key := make([]byte, 1000)
	for i := range 5 * maxSetBytes / len(key) {
		copy(key, fmt.Sprint(i))
		see(i%2, key, model.LabelSet{"a": "b"})
		see(i%2, key, model.LabelSet{"a": "b"})
		if i%100 != 0 {
			continue
		}
		held := 0
		for _, m := range append(c.cur[:], c.old[:]...) {
			for _, e := range m {
				held += setEntryCost + len(e.key)
			}
		}
		if len(c.once[0])+len(c.once[1]) != 2*onceSlots {
			t.Fatalf("the table of sets seen once has grown to %d", len(c.once[0])+len(c.once[1]))
		}
		if c.bytes > maxSetBytes || held > 2*maxSetBytes {
			t.Fatalf("after %d sets the cache holds %d bytes (%d in the current generation); limits %d and %d",
				i+1, held, c.bytes, 2*maxSetBytes, maxSetBytes)
		}
		if ls, ok := see(0, hot, nil); !ok || ls["h"] != "1" {
			t.Fatalf("after %d sets the set in use is gone", i+1)
		}
	}
	copy(key, "0")
	if _, _, ok := c.get(0, key); ok {
		t.Fatal("a set not used for 5 generations is still there")
	}
}

// BenchmarkSessionUniqueAlerts decodes one-alert messages whose labels
// and annotations never repeat: the worst case for a stream session's
// set cache (every set is hashed and noted, none is found).
func BenchmarkSessionUniqueAlerts(b *testing.B) {
	msg := []byte(`{"annotations":{"description":"x 00000000 has fired.","summary":"KubePodCrashLooping on 00000000 (api)"},"endsAt":"2026-11-24T23:58:21Z","generatorURL":"http://prometheus.example/graph","labels":{"alertname":"KubePodCrashLooping","cluster":"prod-eu-1","instance":"00000000:9100","job":"kube-state-metrics","namespace":"default","pod":"api-00000000","service":"api","severity":"warning","team":"core"},"startsAt":"2026-11-24T22:53:18Z"}`)
	var at []int
	for i := 0; i+8 <= len(msg); i++ {
		if string(msg[i:i+8]) == "00000000" {
			at = append(at, i)
		}
	}
	d := NewDecoder(Config{})
	for _, stream := range []bool{false, true} {
		name := "session"
		if stream {
			name = "stream-session"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			s := d.NewSession()
			if stream {
				s = d.NewStreamSession()
			}
			out := make([]model.Alert, 0, 1000)
			n := 0
			for b.Loop() {
				n++
				for _, i := range at {
					copy(msg[i:], fmt.Sprintf("%08x", n))
				}
				var err error
				if out, err = s.AppendDecode(out[:0], FormatAMv2, msg, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
