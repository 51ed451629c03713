package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/ingest"
)

// A Content-Length header announces, it does not allocate: a request
// announcing 16 MiB and sending two bytes costs about what it sent.
func TestContentLengthDoesNotAllocate(t *testing.T) {
	api := New(ingest.Config{}, discardSink{}, nil, prometheus.NewRegistry(), nil)
	mux := http.NewServeMux()
	api.Register(mux)
	post := func() {
		req := httptest.NewRequest("POST", "/api/v2/alerts", strings.NewReader("[{"))
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = ingest.DefaultMaxBodyBytes // announced, never sent
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != 400 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	post() // warm the pools
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 20
	for range n {
		post()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 64<<10 {
		t.Errorf("a request announcing 16 MiB and sending 2 bytes allocated %d bytes", per)
	}
}

// The same over a real connection: the handler is reading a body that
// does not come; a normal request is answered meanwhile.
func TestHeadersOnlyConnections(t *testing.T) {
	f := newFixture(t, ingest.Config{})
	addr := strings.TrimPrefix(f.srv.URL, "http://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /api/v2/alerts HTTP/1.1\r\nHost: sift\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n[", ingest.DefaultMaxBodyBytes)
	}
	if code, _, body := f.do(t, "POST", "/api/v2/alerts", "application/json", `[{"labels":{"alertname":"A"}}]`); code != 200 {
		t.Fatalf("normal post while others hang: %d %s", code, body)
	}
	time.Sleep(300 * time.Millisecond) // every handler is reading by now
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 16<<20 {
		t.Errorf("20 connections announcing 16 MiB allocated %d MiB", grew>>20)
	}
	if n := len(f.sink.Batches()); n != 1 {
		t.Errorf("%d batches, want the normal one", n)
	}
}

// Hostile alerts are refused with a JSON error naming the field: 413 for
// an alert beyond a limit, 400 for invalid input; nothing reaches the
// sink, and the metric counts the reason.
func TestHostileAlertsOverHTTP(t *testing.T) {
	f := newFixture(t, ingest.Config{})
	huge := strings.Repeat("x", 1<<20)
	many := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"alertname":"Many"`)
		for i := 1; i < n; i++ {
			fmt.Fprintf(&b, `,"l%d":"v"`, i)
		}
		return b.String() + "}"
	}
	ok := `{"labels":{"alertname":"OK"}}`
	for _, c := range []struct {
		name, path, body   string
		code               int
		field, msg, reason string
	}{
		{"1 MB label value", "/api/v2/alerts", `[` + ok + `,{"labels":{"alertname":"A","big":"` + huge + `"}}]`, 413, "[1].labels.big", "value of 1048576 bytes exceeds the limit of 8192 bytes (ingest.max_label_bytes)", ingest.ReasonTooLarge},
		{"10000 labels", "/api/v2/alerts", `[{"labels":` + many(10000) + `}]`, 413, "[0].labels", "10000 labels exceed the limit of 64 per alert", ingest.ReasonTooLarge},
		{"1 MB description", "/api/v1/events", `{"name":"A","description":"` + huge + `"}`, 413, "description", "(ingest.max_annotation_bytes)", ingest.ReasonTooLarge},
		{"webhook 10000 annotations", "/api/v1/webhooks/alertmanager", `{"version":"4","alerts":[{"labels":{"alertname":"A"},"annotations":` + strings.Replace(many(10000), `"alertname":"Many"`, `"a":"b"`, 1) + `}]}`, 413, "alerts[0].annotations", "10000 annotations exceed the limit of 64", ingest.ReasonTooLarge},
		{"label not UTF-8", "/api/v2/alerts", "[{\"labels\":{\"alertname\":\"A\",\"job\":\"\xff\xfe\"}}]", 400, "[0].labels.job", "not valid UTF-8", ingest.ReasonInvalidAlert},
		{"webhook label not UTF-8", "/api/v1/webhooks/alertmanager", "{\"version\":\"4\",\"alerts\":[{\"labels\":{\"alertname\":\"A\\u00e9\xe9\"}}]}", 400, "alerts[0].labels.alertname", "not valid UTF-8", ingest.ReasonInvalidAlert},
		{"event summary not UTF-8", "/api/v1/events", "{\"name\":\"A\",\"summary\":\"\xc3\x28\"}", 400, "summary", "not valid UTF-8", ingest.ReasonInvalidAlert},
		{"startsAt in 9999", "/api/v2/alerts", `[{"labels":{"alertname":"A"},"startsAt":"9999-12-31T23:59:59Z"}]`, 400, "[0].startsAt", "more than 365d after the receipt time", ingest.ReasonInvalidAlert},
		{"endsAt in 1970", "/api/v1/webhooks/alertmanager", `{"version":"4","alerts":[{"labels":{"alertname":"A"},"endsAt":"1970-01-01T00:00:00Z"}]}`, 400, "alerts[0].endsAt", "before 2000-01-01T00:00:00Z", ingest.ReasonInvalidAlert},
		{"event time in 9999", "/api/v1/events", `{"name":"A","time":"9999-01-01T00:00:00Z"}`, 400, "time", "more than 365d", ingest.ReasonInvalidAlert},
	} {
		t.Run(c.name, func(t *testing.T) {
			source := map[string]string{"/api/v2/alerts": "amv2", "/api/v1/events": "event", "/api/v1/webhooks/alertmanager": "webhook"}[c.path]
			before := metric(t, f.reg, "sift_alerts_rejected_total", map[string]string{"source": source, "reason": c.reason})
			code, hdr, body := f.do(t, "POST", c.path, "application/json", c.body)
			var e struct{ Error, Field string }
			if code != c.code || hdr.Get("Content-Type") != "application/json" || json.Unmarshal(body, &e) != nil {
				t.Fatalf("%d %s %.300s, want %d with a JSON error", code, hdr.Get("Content-Type"), body, c.code)
			}
			if e.Field != c.field || !strings.Contains(e.Error, c.msg) || len(e.Error) > 1000 {
				t.Errorf("error %.300q field %q, want field %q and message containing %q", e.Error, e.Field, c.field, c.msg)
			}
			if after := metric(t, f.reg, "sift_alerts_rejected_total", map[string]string{"source": source, "reason": c.reason}); after <= before {
				t.Errorf("rejected{%s,%s} did not grow", source, c.reason)
			}
		})
	}
	if n := len(f.sink.Batches()); n != 0 {
		t.Fatalf("%d batches of hostile alerts reached the sink", n)
	}
	// Sift is fine afterwards.
	if code, _, body := f.do(t, "POST", "/api/v2/alerts", "application/json", `[`+ok+`]`); code != 200 {
		t.Fatalf("normal post after hostile ones: %d %s", code, body)
	}
}

// A body read as it arrives still arrives whole, even slowly and in
// small pieces.
func TestSlowBodyArrivesWhole(t *testing.T) {
	f := newFixture(t, ingest.Config{})
	body := `[{"labels":{"alertname":"Slow","x":"` + strings.Repeat("y", 5000) + `"}}]`
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(body); i += 700 {
			pw.Write([]byte(body[i:min(i+700, len(body))]))
			time.Sleep(time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v2/alerts", pr)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	bs := f.sink.Batches()
	if resp.StatusCode != 200 || len(bs) != 1 || len(bs[0].Alerts[0].Labels["x"]) != 5000 {
		t.Fatalf("%d, batches %d", resp.StatusCode, len(bs))
	}
}
