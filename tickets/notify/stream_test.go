package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// sseFrame is one event or comment block of a stream.
type sseFrame struct {
	id, event, data string
	comment         string
}

type sseReader struct {
	r  *bufio.Reader
	ch chan sseFrame
}

func readSSE(body io.Reader) *sseReader {
	s := &sseReader{r: bufio.NewReader(body), ch: make(chan sseFrame, 10000)}
	go func() {
		defer close(s.ch)
		var f sseFrame
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				s.ch <- f
				f = sseFrame{}
			case strings.HasPrefix(line, ":"):
				f.comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "id: "):
				f.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				f.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				f.data = line[6:]
			}
		}
	}()
	return s
}

// next returns the next frame that is not only a comment.
func (s *sseReader) next(t *testing.T, d time.Duration) (sseFrame, bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-s.ch:
			if !ok {
				return f, false
			}
			if f.event == "" && f.data == "" {
				continue
			}
			return f, true
		case <-deadline:
			t.Fatal("no event in time")
		}
	}
}

func streamServer(t *testing.T, s *Stream, writeTimeout time.Duration) string {
	mux := http.NewServeMux()
	s.Register(mux)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.WriteTimeout = writeTimeout
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close) // before srv.Close (LIFO): streams end
	return srv.URL
}

func connect(t *testing.T, url string) (*http.Response, *sseReader) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	r := readSSE(resp.Body)
	// The first block is a comment, sent once subscribed.
	select {
	case f := <-r.ch:
		if f.comment == "" {
			t.Fatalf("first frame %+v", f)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no greeting")
	}
	return resp, r
}

func TestStreamDeliversFilteredEvents(t *testing.T) {
	s := NewStream(quiet())
	url := streamServer(t, s, 0)
	_, all := connect(t, url+"/api/v1/stream")
	_, some := connect(t, url+"/api/v1/stream?events=opened,resolved")
	hostileEv := ev(model.EventOpened, "INC-1", t0, func(i *model.Incident) { i.Title = hostile })
	s.Export(context.Background(), []model.IncidentEvent{hostileEv, ev(model.EventUpdated, "INC-1", t0.Add(time.Second))})
	s.Export(context.Background(), []model.IncidentEvent{ev(model.EventResolved, "INC-1", t0.Add(2*time.Second))})

	var ids []string
	for _, want := range []string{"opened", "updated", "resolved"} {
		f, ok := all.next(t, 5*time.Second)
		if !ok || f.event != want {
			t.Fatalf("got %+v, want %s", f, want)
		}
		var b Body
		if err := json.Unmarshal([]byte(f.data), &b); err != nil || b.Type != want || b.Incident.ID != "INC-1" {
			t.Fatalf("data %q: %v", f.data, err)
		}
		if want == "opened" && b.Incident.Title != hostile {
			t.Fatalf("title %q", b.Incident.Title)
		}
		ids = append(ids, f.id)
	}
	if strings.Join(ids, ",") != "1,2,3" {
		t.Fatalf("ids %v", ids)
	}
	for _, want := range []string{"opened", "resolved"} {
		if f, _ := some.next(t, 5*time.Second); f.event != want {
			t.Fatalf("filtered stream: %+v, want %s", f, want)
		}
	}
	resp, err := http.Get(url + "/api/v1/stream?events=opened,bogus")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "bogus") {
		t.Fatalf("bad filter: %d %s", resp.StatusCode, b)
	}
	// Close ends the streams.
	s.Close()
	for _, r := range []*sseReader{all, some} {
		select {
		case _, ok := <-r.ch:
			for ok {
				_, ok = <-r.ch
			}
		case <-time.After(5 * time.Second):
			t.Fatal("stream not ended by Close")
		}
	}
}

// Keep-alives flow, and the stream outlives the server's WriteTimeout.
func TestStreamKeepAliveOutlivesWriteTimeout(t *testing.T) {
	s := NewStream(quiet())
	s.KeepAlive = 50 * time.Millisecond
	url := streamServer(t, s, 300*time.Millisecond)
	_, r := connect(t, url+"/api/v1/stream")
	keepAlives := 0
	deadline := time.After(time.Second)
loop:
	for {
		select {
		case f, ok := <-r.ch:
			if !ok {
				t.Fatalf("stream ended after %d keep-alives", keepAlives)
			}
			if f.comment == "keep-alive" {
				keepAlives++
			}
		case <-deadline:
			break loop
		}
	}
	if keepAlives < 5 {
		t.Fatalf("%d keep-alives in 1s at 50ms", keepAlives)
	}
	s.Export(context.Background(), []model.IncidentEvent{ev(model.EventOpened, "INC-9", t0)})
	if f, ok := r.next(t, 5*time.Second); !ok || f.event != "opened" {
		t.Fatalf("after 1s (WriteTimeout 300ms): %+v %v", f, ok)
	}
}

// A consumer that does not read falls behind: it gets "lagged" and is
// disconnected, while Export never waits for it.
func TestStreamLaggingConsumerIsDropped(t *testing.T) {
	s := NewStream(quiet())
	s.Buffer = 4
	url := streamServer(t, s, 0)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n\r\n")
	for s.Subscribers() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	big := strings.Repeat("x", 256<<10)
	start := time.Now()
	for i := 0; i < 200 && s.Subscribers() > 0; i++ {
		s.Export(context.Background(), []model.IncidentEvent{ev(model.EventUpdated, "INC-1", t0, func(inc *model.Incident) { inc.Notes = big })})
	}
	if s.Subscribers() != 0 {
		t.Fatal("a consumer that does not read was not dropped")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Export took %s with a stuck consumer", d)
	}
	t.Logf("exports done after %s", time.Since(start))
	// Now read: the buffered events, then the notice, then the end.
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 1<<20), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := readSSE(resp.Body)
	last := sseFrame{}
	n := 0
	for f := range r.ch {
		if f.event != "" {
			last = f
			n++
		}
	}
	t.Logf("read %d events after %s", n, time.Since(start))
	if last.event != "lagged" || !strings.Contains(last.data, "fell behind") {
		t.Fatalf("last frame after %d: %+v", n, last)
	}
}

func TestStreamRefusesWhenClosedOrFull(t *testing.T) {
	s := NewStream(quiet())
	s.MaxSubscribers = 1
	url := streamServer(t, s, 0)
	connect(t, url+"/api/v1/stream")
	resp, err := http.Get(url + "/api/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("second subscriber over the bound: %d", resp.StatusCode)
	}
}
