package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// SLA clocks against a real sift serve: the classifier's priority starts
// them, an unacknowledged incident breaches its response target (incident
// event, timeline entry, metric), an acknowledged one does not, and after
// kill -9 the replayed journal gives the same SLA state.
func TestSLAClocksOverHTTP(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sift.yaml")
	var pol strings.Builder
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&pol, "    P%d: {respond: 3s, resolve: 1h}\n", i)
	}
	os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+"\nsla:\n  policies:\n"+pol.String()), 0o644)
	s := startSift(t, "--config", cfg)

	now := time.Now()
	for _, svc := range []string{"payment", "inventory"} {
		if code, body, err := postJSON(s.url+"/api/v2/alerts", []any{alertJSON("Down", svc, svc+"-1", now, now.Add(time.Hour))}); err != nil || code != 200 {
			t.Fatalf("post: %d %s %v", code, body, err)
		}
	}
	type detail struct {
		Incident model.Incident `json:"incident"`
	}
	find := func(svc string) model.Incident {
		var list struct {
			Incidents []struct {
				ID       string
				Services []string
			}
		}
		getJSON(t, s.url+"/api/v1/incidents", &list)
		for _, inc := range list.Incidents {
			if len(inc.Services) == 1 && inc.Services[0] == svc {
				var d detail
				getJSON(t, s.url+"/api/v1/incidents/"+inc.ID, &d)
				return d.Incident
			}
		}
		t.Fatalf("no incident on %s: %+v", svc, list.Incidents)
		return model.Incident{}
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	waitFor("SLA clocks from the classifier's priority", func() bool {
		a, b := find("payment"), find("inventory")
		return a.SLA != nil && a.SLA.Policy != "" && b.SLA != nil && b.SLA.Policy != ""
	})
	inv := find("inventory")
	if code, body, _ := postJSON(s.url+"/api/v1/incidents/"+inv.ID+"/ack", map[string]string{"actor": "ann"}); code != 200 {
		t.Fatalf("ack: %d %s", code, body)
	}
	pay := find("payment")
	if pay.SLA.RespondBy.Sub(pay.OpenedAt) != 3*time.Second || pay.SLA.Breached {
		t.Fatalf("payment SLA before its deadline: %+v (opened %s)", pay.SLA, pay.OpenedAt)
	}
	waitFor("the response breach", func() bool { return find("payment").SLA.Breached })
	pay = find("payment")
	if len(pay.SLA.Breaches) != 1 || pay.SLA.Breaches[0] != model.SLARespond || !hasEvent(pay, "sla_breached") {
		t.Fatalf("payment after its deadline: %+v %+v", pay.SLA, pay.Timeline)
	}
	time.Sleep(time.Second)
	inv = find("inventory")
	if inv.SLA.Breached || inv.SLA.RespondedAt.IsZero() {
		t.Fatalf("acknowledged incident: %+v", inv.SLA)
	}
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `sift_sla_breaches_total{kind="respond",priority="`+pay.SLA.Priority+`"} 1`) {
		t.Fatalf("metric missing:\n%s", grepLines(string(metrics), "sift_sla"))
	}

	// kill -9: the journal replays to the same SLA state.
	s.kill9(t)
	s = startSift(t, "--config", cfg)
	again := find("payment")
	if again.SLA == nil || !again.SLA.Breached || len(again.SLA.Breaches) != 1 || !again.SLA.RespondBy.Equal(pay.SLA.RespondBy) {
		t.Fatalf("after kill -9: %+v, before: %+v", again.SLA, pay.SLA)
	}
}

func hasEvent(inc model.Incident, ev string) bool {
	for _, e := range inc.Timeline {
		if e.Event == ev {
			return true
		}
	}
	return false
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
