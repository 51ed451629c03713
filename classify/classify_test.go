package classify

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

func alert(labels string, summary string) model.AlertState {
	ls, err := ParseLabels(labels)
	if err != nil {
		panic(err)
	}
	a := model.AlertState{Alert: model.Alert{Labels: ls, Annotations: model.LabelSet{}}, Status: model.StatusFiring}
	if summary != "" {
		a.Annotations["summary"] = summary
	}
	return a
}

func TestPriorityMatrix(t *testing.T) {
	cfg := Config{Services: map[string]Service{
		"checkout": {Team: "web", Criticality: CritCritical},
		"search":   {Team: "web", Criticality: CritMedium},
		"batch":    {Team: "data", Criticality: CritLow},
	}}.WithDefaults()
	cases := []struct {
		name   string
		alerts []model.AlertState
		want   string
		impact string
		urg    string
	}{
		{"critical service, critical severity", []model.AlertState{alert("service=checkout,severity=critical", "")}, "P1", "high", "high"},
		{"critical service, warning", []model.AlertState{alert("service=checkout,severity=warning", "")}, "P2", "high", "medium"},
		{"medium service, critical", []model.AlertState{alert("service=search,severity=critical", "")}, "P2", "medium", "high"},
		{"medium service, info", []model.AlertState{alert("service=search,severity=info", "")}, "P4", "medium", "low"},
		{"low service, warning", []model.AlertState{alert("service=batch,severity=warning", "")}, "P4", "low", "medium"},
		{"unknown service, unknown severity", []model.AlertState{alert("service=zzz,severity=weird", "")}, "P5", "low", "low"},
		{"highest severity wins", []model.AlertState{alert("service=batch,severity=info", ""), alert("service=batch,severity=critical", "")}, "P3", "low", "high"},
		// blast radius: 2 low services -> medium impact; 3 -> high
		{"two services", []model.AlertState{alert("service=batch,severity=warning", ""), alert("service=zzz,severity=warning", "")}, "P3", "medium", "medium"},
		{"three services", []model.AlertState{alert("service=batch,severity=warning", ""), alert("service=a,severity=warning", ""), alert("service=b,severity=warning", "")}, "P2", "high", "medium"},
		{"five hosts", []model.AlertState{
			alert("service=batch,host=h1,severity=info", ""), alert("service=batch,host=h2,severity=info", ""),
			alert("service=batch,host=h3,severity=info", ""), alert("service=batch,host=h4,severity=info", ""),
			alert("service=batch,host=h5,severity=info", "")}, "P3", "high", "low"},
		{"two hosts", []model.AlertState{alert("service=batch,host=h1,severity=info", ""), alert("service=batch,host=h2,severity=info", "")}, "P4", "medium", "low"},
	}
	for _, c := range cases {
		d := cfg.prioritize(&model.Incident{}, c.alerts)
		if d.Priority != c.want || d.Impact != c.impact || d.Urgency != c.urg {
			t.Errorf("%s: got %s impact=%s urgency=%s (%+v), want %s %s %s", c.name, d.Priority, d.Impact, d.Urgency, d, c.want, c.impact, c.urg)
		}
	}
	// incident services count for blast radius too, and incident severity for urgency
	d := cfg.prioritize(&model.Incident{Severity: "critical", Services: []string{"a", "b", "c"}}, nil)
	if d.Priority != "P1" || d.Services != 3 {
		t.Errorf("incident-level: %+v", d)
	}
	// configurable matrix, urgency map and thresholds
	custom := Config{Priority: PriorityConfig{
		Urgency:     map[string]string{"sev1": LevelHigh, "sev3": LevelLow},
		BlastRadius: BlastRadius{MediumServices: -1, HighServices: 10, MediumHosts: -1, HighHosts: -1},
		Matrix: map[string]map[string]string{
			LevelHigh:   {LevelHigh: "SEV1", LevelMedium: "SEV1", LevelLow: "SEV2"},
			LevelMedium: {LevelHigh: "SEV2", LevelMedium: "SEV3", LevelLow: "SEV3"},
			LevelLow:    {LevelHigh: "SEV2", LevelMedium: "SEV3", LevelLow: "SEV4"},
		}}}
	if err := custom.Validate(); err != nil {
		t.Fatal(err)
	}
	cc := custom.WithDefaults()
	if d := cc.prioritize(nil, []model.AlertState{alert("service=a,severity=sev1", ""), alert("service=b,severity=sev1", "")}); d.Priority != "SEV2" || d.Impact != "low" {
		t.Errorf("custom: %+v", d)
	}
	if d := cc.prioritize(nil, []model.AlertState{alert("service=a,severity=sev3", "")}); d.Priority != "SEV4" {
		t.Errorf("custom low: %+v", d)
	}
}

// corpus generates past incidents of three teams from team-specific vocabulary.
type teamVocab struct {
	team, category string
	services       []string
	alerts         []string
	summaries      []string
	fix            string
}

var vocab = []teamVocab{
	{"dba", "database", []string{"mysql", "postgres", "orders-db"},
		[]string{"MysqlTooManyConnections", "MysqlSlowQueries", "PostgresqlReplicationLag", "PostgresqlDeadlocks", "MysqlInnodbLogWaits"},
		[]string{"too many connections to the database", "replication lag on replica is growing", "slow queries detected on primary", "deadlocks detected in transactions", "innodb buffer pool waits"},
		"killed long running query and raised max_connections"},
	{"platform", "orchestration", []string{"kube-apiserver", "kubelet", "coredns"},
		[]string{"KubePodCrashLooping", "KubeNodeNotReady", "KubeDeploymentReplicasMismatch", "KubePersistentVolumeFillingUp", "KubeApiserverErrors"},
		[]string{"pod is crash looping restarting container", "node has been unready for more than 15 minutes", "deployment has not matched the expected number of replicas", "persistent volume claim is filling up", "kubernetes api server errors"},
		"cordoned and drained the node, rescheduled pods"},
	{"web", "frontend", []string{"nginx", "frontend", "cdn"},
		[]string{"NginxHighHttp5xxErrorRate", "NginxLatencyHigh", "HttpProbeFailed", "SslCertificateExpiringSoon", "NginxHighHttp4xxErrorRate"},
		[]string{"too many http 5xx responses from upstream", "p99 request latency of web server is high", "http probe failed blackbox", "ssl certificate expires soon", "too many http 4xx client errors"},
		"rolled back the frontend release and purged cdn cache"},
}

func genIncident(r *rand.Rand, v teamVocab, id string) (*model.Incident, []model.AlertState) {
	svc := v.services[r.Intn(len(v.services))]
	var alerts []model.AlertState
	n := 1 + r.Intn(2)
	for i := 0; i < n; i++ {
		j := r.Intn(len(v.alerts))
		alerts = append(alerts, alert(fmt.Sprintf("alertname=%s,service=%s,severity=%s,instance=10.0.0.%d:9100",
			v.alerts[j], svc, []string{"warning", "critical"}[r.Intn(2)], r.Intn(250)), v.summaries[j]))
	}
	inc := &model.Incident{ID: id, Title: alerts[0].Name() + " on " + svc, Services: []string{svc},
		RootCause: model.RootCause{Service: svc}, Notes: v.fix, OpenedAt: time.Unix(1700000000, 0).UTC()}
	for _, a := range alerts {
		inc.Members = append(inc.Members, model.Member{Name: a.Name(), Service: svc})
	}
	return inc, alerts
}

func learnCorpus(t *testing.T, c *Classifier, r *rand.Rand, perTeam int) {
	t.Helper()
	for i := 0; i < perTeam; i++ {
		for ti, v := range vocab {
			inc, alerts := genIncident(r, v, fmt.Sprintf("INC-%d", i*len(vocab)+ti+1))
			if err := c.Learn(inc, alerts, model.Classification{Team: v.team, Category: v.category}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestKNNVoteAndFeedback(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := rand.New(rand.NewSource(1))
	learnCorpus(t, c, r, 10) // 30 incidents, 3 teams
	if n, _ := c.Count(); n != 30 {
		t.Fatalf("count = %d, want 30", n)
	}
	right := 0
	total := 0
	for i := 0; i < 10; i++ {
		for _, v := range vocab {
			total++
			inc, alerts := genIncident(r, v, fmt.Sprintf("NEW-%d-%s", i, v.team))
			res := c.Classify(inc, alerts)
			if res.Team == v.team && res.Category == v.category {
				right++
				if res.Confidence < 0.6 || !strings.HasPrefix(res.Sources[0], "team: kNN INC-") {
					t.Errorf("%s: confidence %.2f sources %v", inc.ID, res.Confidence, res.Sources)
				}
			} else {
				t.Logf("%s (%s): got %s/%s %v", inc.ID, v.team, res.Team, res.Category, res.Sources)
			}
			if len(res.Similar) == 0 || res.Similar[0].Team != v.team || res.Similar[0].Resolution != v.fix || res.Similar[0].Title == "" {
				t.Errorf("%s: similar %+v", inc.ID, res.Similar)
			}
		}
	}
	if right < total*9/10 {
		t.Fatalf("kNN right on %d/%d, want >= 90%%", right, total)
	}

	// a kind of incident never seen: falls back (no confident vote)
	odd := &model.Incident{ID: "ODD-1", Title: "VaultSealed on secrets-store", Services: []string{"vault"}}
	oddAlerts := []model.AlertState{alert("alertname=VaultSealed,service=vault,severity=critical", "vault is sealed and cannot serve secrets")}
	res := c.Classify(odd, oddAlerts)
	if res.Team == "security" || !strings.HasPrefix(res.Sources[0], "team: fallback") {
		t.Fatalf("unseen: %+v", res)
	}
	// feedback: an agent says it is security's; the next similar incident uses it at once
	if err := c.Learn(odd, oddAlerts, model.Classification{Team: "security", Category: "secrets"}); err != nil {
		t.Fatal(err)
	}
	next := &model.Incident{ID: "ODD-2", Title: "VaultSealed on secrets-store-2", Services: []string{"vault"}}
	res = c.Classify(next, []model.AlertState{alert("alertname=VaultSealed,service=vault,severity=critical", "vault is sealed")})
	if res.Team != "security" || res.Category != "secrets" || !strings.Contains(res.Sources[0], "ODD-1") {
		t.Fatalf("after feedback: %+v", res)
	}
	// correction of the same incident replaces it (no duplicate) and changes the answer
	if err := c.Learn(odd, oddAlerts, model.Classification{Team: "platform", Category: "secrets"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Count(); n != 31 {
		t.Fatalf("count after correction = %d, want 31", n)
	}
	res = c.Classify(next, []model.AlertState{alert("alertname=VaultSealed,service=vault,severity=critical", "vault is sealed")})
	if res.Team != "platform" {
		t.Fatalf("after correction: %+v", res)
	}
	// an incident never finds itself as its own neighbour
	res = c.Classify(odd, oddAlerts)
	for _, n := range res.Similar {
		if n.ID == "ODD-1" {
			t.Fatalf("incident is its own neighbour: %+v", res.Similar)
		}
	}
	// feedback with a bad classification is refused
	if err := c.Learn(next, nil, model.Classification{}); err == nil {
		t.Fatal("learn without team or category accepted")
	}
}

func TestDecisionOrder(t *testing.T) {
	cfg := routeTree()
	cfg.Teams = append(cfg.Teams, "payments")
	cfg.Categories = append(cfg.Categories, "database", "orchestration", "frontend")
	cfg.Services = map[string]Service{"billing": {Team: "payments", Criticality: CritHigh}}
	cfg.Route.Team = "" // no default team: let kNN and the taxonomy speak
	cfg.FallbackTeam = "oncall"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := rand.New(rand.NewSource(2))
	learnCorpus(t, c, r, 5)

	// rule decides even when kNN would say otherwise
	inc, alerts := genIncident(r, vocab[1], "X1") // platform-like text
	for i := range alerts {
		alerts[i].Labels["service"] = "mysql"
	}
	res := c.Classify(inc, alerts)
	if res.Team != "dba" || res.Confidence != 1 || !strings.HasPrefix(res.Sources[0], "team: route databases") {
		t.Fatalf("rule: %+v", res.Classification)
	}
	// kNN when no route sets a team
	inc, alerts = genIncident(r, vocab[1], "X2")
	res = c.Classify(inc, alerts)
	if res.Team != "platform" || !strings.HasPrefix(res.Sources[0], "team: kNN") {
		t.Fatalf("knn: %+v", res.Classification)
	}
	// service owner when kNN has nothing confident
	inc = &model.Incident{ID: "X3", Title: "LedgerImbalance", Services: []string{"billing"}, RootCause: model.RootCause{Service: "billing"}}
	res = c.Classify(inc, []model.AlertState{alert("alertname=LedgerImbalance,service=billing,severity=critical", "ledger totals differ")})
	if res.Team != "payments" || res.Sources[0] != "team: owner of service billing" {
		t.Fatalf("owner: %+v", res.Classification)
	}
	if res.Priority != "P1" || !strings.HasPrefix(res.Sources[2], "priority: matrix impact=high urgency=high") {
		t.Fatalf("priority: %+v", res.Classification)
	}
	// the owner beats a merely confident kNN vote; a nearly unanimous one
	// (agents kept moving such incidents to another team) overrules it
	ledger := func(id string) (*model.Incident, []model.AlertState) {
		return &model.Incident{ID: id, Title: "LedgerImbalance on billing", Services: []string{"billing"}, RootCause: model.RootCause{Service: "billing"}},
			[]model.AlertState{alert("alertname=LedgerImbalance,service=billing,severity=critical", "ledger totals differ")}
	}
	for i := 0; i < 7; i++ {
		team := "platform"
		if i < 2 {
			team = "dba"
		}
		pi, pa := ledger(fmt.Sprintf("L%d", i))
		if err := c.Learn(pi, pa, model.Classification{Team: team}); err != nil {
			t.Fatal(err)
		}
	}
	inc, alerts = ledger("X3b")
	if res = c.Classify(inc, alerts); res.Team != "payments" {
		t.Fatalf("owner vs 5/7 kNN: %+v", res.Classification)
	}
	for i := 0; i < 2; i++ { // corrections: now all say platform
		pi, pa := ledger(fmt.Sprintf("L%d", i))
		if err := c.Learn(pi, pa, model.Classification{Team: "platform"}); err != nil {
			t.Fatal(err)
		}
	}
	if res = c.Classify(inc, alerts); res.Team != "platform" || !strings.HasPrefix(res.Sources[0], "team: kNN") {
		t.Fatalf("unanimous kNN vs owner: %+v", res.Classification)
	}
	// fallback
	inc = &model.Incident{ID: "X4", Title: "Zzyzx"}
	res = c.Classify(inc, []model.AlertState{alert("alertname=Zzyzx,severity=info", "")})
	if res.Team != "oncall" || res.Sources[0] != "team: fallback" || res.Confidence != 0 {
		t.Fatalf("fallback: %+v", res.Classification)
	}
	// a route priority overrides the matrix
	res = c.Classify(&model.Incident{ID: "X5"}, []model.AlertState{alert("alertname=MysqlDiskFull,service=mysql,severity=info", "disk full")})
	if res.Priority != "P2" || res.Sources[2] != "priority: route db-disk (alert MysqlDiskFull)" || res.PriorityDecision.Priority != "P5" {
		t.Fatalf("route priority: %+v %+v", res.Classification, res.PriorityDecision)
	}
	// no alert states: routes on the incident's own fields
	res = c.Classify(&model.Incident{ID: "X6", Services: []string{"postgres-a"}, Severity: "critical"}, nil)
	if res.Team != "dba" {
		t.Fatalf("incident-only: %+v", res.Classification)
	}
}

func TestOnDiskIndexPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	c, err := New(Config{KNN: KNNConfig{IndexPath: dir}})
	if err != nil {
		t.Fatal(err)
	}
	learnCorpus(t, c, rand.New(rand.NewSource(3)), 4)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c, err = New(Config{KNN: KNNConfig{IndexPath: dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, _ := c.Count(); n != 12 {
		t.Fatalf("reopened count = %d", n)
	}
	inc, alerts := genIncident(rand.New(rand.NewSource(4)), vocab[0], "P1")
	if res := c.Classify(inc, alerts); res.Team != "dba" {
		t.Fatalf("after reopen: %+v", res.Classification)
	}
	// a directory that is not a classify index is refused with a clear message
	bogus := t.TempDir()
	os.WriteFile(filepath.Join(bogus, "x"), []byte("x"), 0o644)
	if _, err := New(Config{KNN: KNNConfig{IndexPath: bogus}}); err == nil || !strings.HasPrefix(err.Error(), "classify.knn.index_path: ") {
		t.Fatalf("bogus index: %v", err)
	}
}

const csvInput = `id,title,description,service,alertnames,team,category,resolution,opened_at,extra
T-1,MySQL too many connections,connections exhausted on primary,mysql,MysqlTooManyConnections,dba,database,raised max_connections,2024-03-01T10:00:00Z,x
T-2,Pod crash looping,"api pod restarting, OOMKilled",kube-apiserver,KubePodCrashLooping;KubeContainerOOMKilled,platform,orchestration,raised memory limit,2024-03-02 11:00:00,x
T-3,,,,,,dba,,,x
,no id,text,svc,,dba,database,,,x
T-5,bad date,text,svc,,dba,database,,yesterday,x
T-6,too few fields
T-7,unknown team,text,svc,,ghosts,database,,,x
T-8,"bad "quote",text,svc,,dba,database,,,x
T-9,Nginx 5xx,upstream errors,nginx,NginxHighHttp5xxErrorRate,web,frontend,rolled back,2024-03-05,x
`

func TestImportCSV(t *testing.T) {
	c, err := New(Config{Teams: []string{"dba", "platform", "web"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rep, err := c.ImportReport(strings.NewReader(csvInput), "csv")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 3 {
		t.Errorf("imported %d, want 3", rep.Imported)
	}
	want := map[int]string{
		4: "no text",
		5: "id is empty",
		6: `opened_at "yesterday"`,
		7: "has 2 fields, the header has 10",
		8: `team "ghosts" is not one of classify.teams`,
		9: "bad CSV",
	}
	got := map[int]string{}
	for _, r := range rep.Rejected {
		got[r.Line] = r.Reason
	}
	for line, w := range want {
		if !strings.Contains(got[line], w) {
			t.Errorf("line %d: reason %q, want %q (all: %+v)", line, got[line], w, rep.Rejected)
		}
	}
	if len(rep.Rejected) != len(want) {
		t.Errorf("rejected %+v", rep.Rejected)
	}
	if strings.Join(rep.Ignored, ",") != "extra" {
		t.Errorf("ignored %v", rep.Ignored)
	}
	// the imported tickets are neighbours at once
	res := c.Classify(&model.Incident{ID: "N1", Title: "KubePodCrashLooping"}, []model.AlertState{alert("alertname=KubePodCrashLooping,severity=warning", "pod restarting")})
	if res.Team != "platform" || len(res.Similar) == 0 || res.Similar[0].ID != "T-2" || res.Similar[0].Resolution != "raised memory limit" {
		t.Fatalf("after import: %+v %+v", res.Classification, res.Similar)
	}
	// Import's error carries the rejected rows
	n, err := c.Import(strings.NewReader(csvInput), "csv")
	var re *RejectedError
	if n != 3 || !errors.As(err, &re) || len(re.Rows) != 6 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	// unreadable inputs
	for in, want := range map[string]string{
		"":                      "empty CSV",
		"title,team\nx,dba\n":   "no id column",
		"id,title\nx,y\n":       "neither a team nor a category",
		"id,id,team\n1,2,dba\n": "appears twice",
	} {
		if _, err := c.ImportReport(strings.NewReader(in), "csv"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	if _, err := c.Import(strings.NewReader(""), "xml"); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("xml: %v", err)
	}
}

func TestImportNDJSON(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := `{"id":"J-1","title":"Redis memory high","alertnames":["RedisOutOfMemory"],"team":"dba","category":"cache","labels":{"service":"redis"}}
{"id":"J-2","title":"Node not ready","alertnames":"KubeNodeNotReady;KubeletDown","team":"platform","opened_at":"2024-01-01T00:00:00Z"}

{"id":"J-3","title":"broken"
{"id":"J-4","title":"x","team":5}
{"id":"J-5","title":"x","team":"web","labels":["a"]}
{"id":"J-6","title":"x","alertnames":{"a":1},"team":"web"}
{"id":"J-7","title":"no team"}
{"id":"J-8","title":"Nginx errors","team":"web","resolution":null}` // no final newline
	rep, err := c.ImportReport(strings.NewReader(in), "ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 3 {
		t.Errorf("imported %d", rep.Imported)
	}
	want := map[int]string{4: "invalid JSON", 5: "team: want a string", 6: "labels:", 7: "alertnames:", 8: "neither team nor category"}
	if len(rep.Rejected) != len(want) {
		t.Errorf("rejected %+v", rep.Rejected)
	}
	for _, r := range rep.Rejected {
		if !strings.Contains(r.Reason, want[r.Line]) || want[r.Line] == "" {
			t.Errorf("line %d: %q, want %q", r.Line, r.Reason, want[r.Line])
		}
	}
	res := c.Classify(&model.Incident{ID: "q"}, []model.AlertState{alert("alertname=KubeletDown,severity=critical", "")})
	if res.Team != "platform" || res.Similar[0].ID != "J-2" {
		t.Fatalf("%+v %+v", res.Classification, res.Similar)
	}
	// labels from NDJSON are searchable
	res = c.Classify(&model.Incident{ID: "q2"}, []model.AlertState{alert("alertname=Something,service=redis", "")})
	if len(res.Similar) == 0 || res.Similar[0].ID != "J-1" {
		t.Fatalf("labels: %+v", res.Similar)
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sift.yml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const cliConfig = `listen: 127.0.0.1:9093
correlate:
  window: 5m
classify:
  teams: [web, dba, oncall]
  services:
    checkout: {team: web, criticality: critical}
  route:
    name: default
    team: oncall
    routes:
      - name: frontend-team
        matchers: ['service=~"checkout|frontend"']
        team: web
        category: availability
        routes:
          - name: fe-warn
            matchers: ['severity="warning"']
            priority: P4
      - name: dba
        matchers: ['service=~"mysql.*"', 'env!="dev"']
        team: dba
`

func TestRouteTestMain(t *testing.T) {
	cfg := writeConfig(t, cliConfig)
	var out, errb bytes.Buffer
	code := RouteTestMain([]string{"--config", cfg, "--labels", "alertname=Foo,service=checkout,severity=critical"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	o := out.String()
	for _, w := range []string{
		"matched 1 route(s):",
		"1. default > frontend-team",
		`frontend-team: service=~"checkout|frontend" (service="checkout")`,
		"-> team=web (from frontend-team) category=availability (from frontend-team) priority=-",
		"result (rules, taxonomy, matrix; kNN not consulted): team=web category=availability priority=P1",
		"team: route frontend-team (alert Foo)",
		"priority: matrix impact=high urgency=high",
	} {
		if !strings.Contains(o, w) {
			t.Errorf("output lacks %q:\n%s", w, o)
		}
	}
	// nested route with positional labels and a route priority
	out.Reset()
	code = RouteTestMain([]string{"--config", cfg, "service=checkout", "severity=warning", "--verify-priority", "P4"}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "1. default > frontend-team > fe-warn") || !strings.Contains(out.String(), "priority: route fe-warn") {
		t.Fatalf("nested: %d\n%s", code, out.String())
	}
	// default route; verify failure exits 1
	out.Reset()
	code = RouteTestMain([]string{"--config", cfg, "--labels", "service=mysql-a,env=dev", "--verify-team", "dba"}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "matched the default route only: default") || !strings.Contains(out.String(), `verify failed: team is "oncall", want "dba"`) {
		t.Fatalf("default: %d\n%s", code, out.String())
	}
	// bad input
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--labels", "a=b"}, "--config FILE is required"},
		{[]string{"--config", cfg}, "no labels given"},
		{[]string{"--config", cfg, "--labels", "1a=b"}, "invalid label name"},
		{[]string{"--config", filepath.Join(t.TempDir(), "missing.yml"), "--labels", "a=b"}, "no such file"},
		{[]string{"--config", writeConfig(t, "classify:\n  route:\n    routes:\n      - matchers: ['a=~\"(\"']\n"), "--labels", "a=b"},
			"line 4: classify.route.routes[0].matchers[0]: invalid regex"},
		{[]string{"--bogus"}, "flag provided but not defined"},
	} {
		errb.Reset()
		if code := RouteTestMain(c.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errb.String(), c.want)
		}
	}
}

func TestImportMain(t *testing.T) {
	dir := t.TempDir()
	idx := filepath.Join(dir, "classify.idx")
	cfg := writeConfig(t, cliConfig+"  knn:\n    index_path: "+idx+"\n")
	data := filepath.Join(dir, "tickets.csv")
	os.WriteFile(data, []byte(strings.ReplaceAll(csvInput, "platform", "oncall")), 0o644)
	var out, errb bytes.Buffer
	code := ImportMain([]string{"--config", cfg, "--format", "csv", data}, &out, &errb)
	o := out.String()
	if code != 1 || !strings.Contains(o, "imported 3 rows, rejected 6 rows in") || !strings.Contains(o, "rows/s") ||
		!strings.Contains(o, "rejected line 7: has 2 fields") || !strings.Contains(o, "now holds 3 incidents") {
		t.Fatalf("exit %d\n%s\n%s", code, o, errb.String())
	}
	// the index is on disk and usable by a classifier
	c, err := New(Config{KNN: KNNConfig{IndexPath: idx}})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Count(); n != 3 {
		t.Fatalf("count %d", n)
	}
	c.Close()
	// a clean NDJSON file, format from the extension, flags after the file
	nd := filepath.Join(dir, "more.ndjson")
	os.WriteFile(nd, []byte(`{"id":"Z-1","title":"x","team":"web"}`+"\n"), 0o644)
	out.Reset()
	if code := ImportMain([]string{nd, "--index", idx}, &out, &errb); code != 0 || !strings.Contains(out.String(), "imported 1 rows, rejected 0 rows") || !strings.Contains(out.String(), "holds 4 incidents") {
		t.Fatalf("ndjson: %d %s %s", code, out.String(), errb.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{data}, "no index path"},
		{[]string{"--index", idx}, "want exactly one input FILE"},
		{[]string{"--index", idx, filepath.Join(dir, "x.txt")}, "cannot tell the format"},
		{[]string{"--index", idx, "--format", "csv", filepath.Join(dir, "nope.csv")}, "no such file"},
		{[]string{"--index", idx, "--format", "xml", data}, "unknown format"},
	} {
		errb.Reset()
		if code := ImportMain(c.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errb.String(), c.want)
		}
	}
}

func TestPostingsBudgetPrunesCommonTerms(t *testing.T) {
	c, err := New(Config{KNN: KNNConfig{PostingsBudget: 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := rand.New(rand.NewSource(5))
	learnCorpus(t, c, r, 10)
	inc, alerts := genIncident(r, vocab[2], "B1")
	q := c.queryFor(inc, alerts)
	_, pruned, err := c.buildQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	// severity=critical/warning and service names are in many of the 30
	// incidents: they go over a budget of 20 postings
	if pruned == 0 {
		t.Fatal("nothing pruned with a budget of 20 postings")
	}
	c2, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	learnCorpus(t, c2, rand.New(rand.NewSource(5)), 10)
	if _, p2, _ := c2.buildQuery(q); p2 != 0 {
		t.Fatalf("default budget pruned %d terms on a 30-incident index", p2)
	}
	// the rarest terms still find the right team
	if res := c.Classify(inc, alerts); res.Team != "web" {
		t.Fatalf("pruned query: %+v", res.Classification)
	}
}

// A large incident whose alerts all match the same routes keeps each
// route once in the result (results are held per open incident).
func TestRoutesListedOnce(t *testing.T) {
	c, err := New(routeTree())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inc := &model.Incident{ID: "BIG", Title: "mysql down"}
	var alerts []model.AlertState
	for i := range 2000 {
		alerts = append(alerts, alert(fmt.Sprintf("alertname=MySQLDown,service=mysql,instance=db-%d,severity=critical", i), "mysql down"))
	}
	res := c.Classify(inc, alerts)
	if res.Team != "dba" || len(res.Routes) == 0 || len(res.Routes) > 3 {
		t.Fatalf("team %q, %d routes", res.Team, len(res.Routes))
	}
}
