package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/pipeline"
)

// TestAmtoolSilences drives silences with the real amtool against a real
// pipeline: add, query (with a filter), a silenced alert shown suppressed
// and kept out of incidents, expire; and a bad silence refused with a
// message amtool prints.
func TestAmtoolSilences(t *testing.T) {
	amtool := testenv.Require(t, "amtool")["amtool"]
	p, err := pipeline.Open(pipeline.Options{DataDir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	api := New(ingest.Config{}, p, p, nil, time.Now)
	api.Silences = p
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	run := func(wantErr bool, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, amtool, append(args, "--alertmanager.url="+srv.URL)...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		err := cmd.Run()
		if (err != nil) != wantErr {
			t.Fatalf("amtool %s: err %v (want error: %v)\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, wantErr, out.String(), stderr.String())
		}
		if wantErr {
			return out.String() + stderr.String()
		}
		return out.String()
	}

	id := strings.TrimSpace(run(false, "silence", "add", "alertname=DiskFull", "service=~db|cache",
		"--comment=disk swap", "--author=ops", "--duration=1h"))
	if len(id) != 36 {
		t.Fatalf("amtool silence add printed %q, want a silence id", id)
	}
	run(false, "alert", "add", "alertname=DiskFull", "service=db", "severity=critical")
	run(false, "alert", "add", "alertname=DiskFull", "service=web", "severity=critical")

	// The db alert is suppressed by the silence and in no incident; the
	// web one is active and opened an incident.
	var got []struct {
		Labels map[string]string `json:"labels"`
		Status struct {
			State      string   `json:"state"`
			SilencedBy []string `json:"silencedBy"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(run(false, "alert", "query", "--active", "--silenced", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, a := range got {
		states[a.Labels["service"]] = a.Status.State + " " + strings.Join(a.Status.SilencedBy, ",")
	}
	if states["db"] != "suppressed "+id || states["web"] != "active " {
		t.Fatalf("alert states %v", states)
	}
	if out := run(false, "alert", "query"); strings.Contains(out, "service=\"db\"") || !strings.Contains(out, "DiskFull") {
		t.Fatalf("amtool alert query (active only) shows the silenced alert or not the other:\n%s", out)
	}
	p.View(func(e *correlate.Engine) {
		all := e.All()
		if len(all) != 1 || all[0].Services[0] != "web" {
			t.Fatalf("incidents with a silence: %+v", all)
		}
	})

	// Query: all, by filter, and one that matches nothing.
	var sils []struct {
		ID       string
		Status   struct{ State string }
		Matchers []struct {
			Name, Value      string
			IsRegex, IsEqual bool
		}
		CreatedBy, Comment string
	}
	if err := json.Unmarshal([]byte(run(false, "silence", "query", "-o", "json")), &sils); err != nil {
		t.Fatal(err)
	}
	if len(sils) != 1 || sils[0].ID != id || sils[0].Status.State != "active" || sils[0].CreatedBy != "ops" ||
		sils[0].Comment != "disk swap" || len(sils[0].Matchers) != 2 {
		t.Fatalf("amtool silence query: %+v", sils)
	}
	if out := run(false, "silence", "query", "-q", "alertname=DiskFull"); strings.TrimSpace(out) != id {
		t.Fatalf("silence query alertname=DiskFull -q: %q", out)
	}
	if out := run(false, "silence", "query", "-q", "alertname=Other"); strings.TrimSpace(out) != "" {
		t.Fatalf("silence query alertname=Other -q: %q", out)
	}

	// Bad input gets a 400 that names the field.
	for _, c := range []struct{ body, field string }{
		{`{"matchers":[{"name":"service","value":"a[","isRegex":true}],"startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-02T00:00:00Z","createdBy":"ops","comment":"x"}`, "matchers[0]"},
		{`{"matchers":[{"name":"service","value":"db"}],"startsAt":"2030-01-02T00:00:00Z","endsAt":"2030-01-01T00:00:00Z","createdBy":"ops","comment":"x"}`, "endsAt"},
		{`{"matchers":[{"name":"service","value":"db"}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2020-01-02T00:00:00Z","createdBy":"ops","comment":"x"}`, "endsAt"},
		{`{"matchers":[{"name":"service","value":".*","isRegex":true}],"startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-02T00:00:00Z","createdBy":"ops","comment":"x"}`, "matchers"},
		{`{"matchers":[],"startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-02T00:00:00Z","createdBy":"ops","comment":"x"}`, "matchers"},
		{`{"id":"nope","matchers":[{"name":"service","value":"db"}],"startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-02T00:00:00Z","createdBy":"ops","comment":"x"}`, "id"},
		{`{"matchers":`, ""},
	} {
		resp, err := http.Post(srv.URL+"/api/v2/silences", "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error, Field string }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode/100 != 4 || e.Error == "" || e.Field != c.field {
			t.Errorf("POST %s: %d %+v, want 4xx naming %q", c.body, resp.StatusCode, e, c.field)
		}
	}

	// Expire: the held alert is released into an incident at once.
	run(false, "silence", "expire", id)
	if out := run(false, "silence", "query", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("expired silence still listed as active: %q", out)
	}
	if out := run(false, "silence", "query", "--expired", "-q"); strings.TrimSpace(out) != id {
		t.Fatalf("silence query --expired: %q", out)
	}
	run(true, "silence", "expire", id) // already expired
	p.View(func(e *correlate.Engine) {
		n := 0
		for _, inc := range e.All() {
			n += inc.AlertCount
		}
		if n != 2 {
			t.Fatalf("after expiring the silence %d alerts are in incidents, want 2: %+v", n, e.All())
		}
	})
}
