package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
)

// corpus is a small knowledge base written for these tests.
var corpus = map[string]string{
	"database/DatabaseReplicationLag.md": `---
title: Replica falling behind primary
tags: [postgres, storage]
alerts: [PgReplicaBehind]
services: [orders-db]
---

# DatabaseReplicationLag

## Meaning

The standby applies WAL slower than the primary produces it.

## Mitigation

Check network throughput between the hosts and long running queries on the standby.
`,
	"web/CheckoutLatencyHigh.md": `# Checkout latency high

Requests to the checkout service take longer than the objective.

## Diagnosis

Look at the slowest spans in the traces and at the connection pool of the payment client.
`,
	"queue/BrokerDiskFull.md": `# Broker disk full

The message broker stops accepting writes when its data volume is full.
Delete old segments or grow the volume.
`,
	"misc/notes.md": `Notes without a heading about certificates and renewals of TLS material.
`,
	"_index.md": `---
title: section
weight: 1
---
`,
}

func writeCorpus(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openCorpus(t *testing.T, files map[string]string) (*Base, string) {
	t.Helper()
	dir := writeCorpus(t, files)
	b, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, dir
}

func ids(res []Result) []string {
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = r.ID
	}
	return out
}

func TestSearchRanksRightArticleFirst(t *testing.T) {
	b, _ := openCorpus(t, corpus)
	if n := b.Len(); n != 4 {
		t.Fatalf("indexed %d articles, want 4 (the front-matter-only _index.md is skipped)", n)
	}
	cases := map[string]string{
		"checkout requests are slow":            "web/CheckoutLatencyHigh",
		"broker stopped accepting writes":       "queue/BrokerDiskFull",
		"standby is behind the primary":         "database/DatabaseReplicationLag",
		"renewing TLS certificates":             "misc/notes",
		"payment client connection pool traces": "web/CheckoutLatencyHigh",
	}
	for q, want := range cases {
		res, err := b.Search(q, 5)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if len(res) == 0 || res[0].ID != want {
			t.Errorf("%q: got %v, want %s first", q, ids(res), want)
			continue
		}
		if res[0].Score <= 0 || len(res[0].Matched) == 0 {
			t.Errorf("%q: result %+v lacks score or matched terms", q, res[0])
		}
	}
	res, err := b.Search("checkout requests are slow", 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0].Matched; !reflect.DeepEqual(got, []string{"checkout", "requests"}) {
		t.Errorf("matched = %v, want the query words found, as written", got)
	}
	if res[0].Title != "Checkout latency high" {
		t.Errorf("title = %q", res[0].Title)
	}
	if res, err := b.Search("zebra giraffe", 5); err != nil || len(res) != 0 {
		t.Errorf("unrelated query: %v %v", ids(res), err)
	}
	if _, err := b.Search("   ", 5); err == nil {
		t.Error("empty query accepted")
	}
}

func TestTitleMatchBeatsBodyOnlyMatch(t *testing.T) {
	b, _ := openCorpus(t, map[string]string{
		"a.md": "# Memory pressure\n\nThe kernel reclaims pages and processes get slower.\n",
		"b.md": "# Kernel tuning\n\nSwap settings change how memory pressure is handled; memory pressure can also come from caches.\n",
	})
	res, err := b.Search("memory pressure", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].ID != "a" {
		t.Fatalf("got %v, want the title match a before the body match b", ids(res))
	}
	if res[0].Score <= res[1].Score {
		t.Fatalf("scores %v <= %v", res[0].Score, res[1].Score)
	}
}

func TestCamelCaseNames(t *testing.T) {
	b, _ := openCorpus(t, corpus)
	// The body never says "replication lag": only the file name does.
	for _, q := range []string{"replication lag", "DatabaseReplicationLag", "PgReplicaBehind"} {
		res, err := b.Search(q, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) == 0 || res[0].ID != "database/DatabaseReplicationLag" {
			t.Errorf("%q: got %v", q, ids(res))
		}
	}
	for in, want := range map[string][]string{
		"KubePodCrashLooping":    {"Kube", "Pod", "Crash", "Looping"},
		"KubeAPIErrorBudgetBurn": {"Kube", "API", "Error", "Budget", "Burn"},
		"etcdGRPCRequestsSlow":   {"etcd", "GRPC", "Requests", "Slow"},
		"NodeRAIDDiskFailure":    {"Node", "RAID", "Disk", "Failure"},
		"node_filesystem-avail":  {"node", "filesystem", "avail"},
		"http5xxRate":            {"http", "5xx", "Rate"},
		"Http2Errors":            {"Http", "2", "Errors"},
		"E2E":                    {"E2E"},
		"simple":                 {"simple"},
	} {
		if got := SplitCamel(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitCamel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseArticle(t *testing.T) {
	a, err := ParseArticle("database/DatabaseReplicationLag", []byte(corpus["database/DatabaseReplicationLag.md"]))
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "Replica falling behind primary" || !reflect.DeepEqual(a.Tags, []string{"postgres", "storage"}) ||
		!reflect.DeepEqual(a.Alerts, []string{"PgReplicaBehind"}) || !reflect.DeepEqual(a.Services, []string{"orders-db"}) {
		t.Fatalf("front matter: %+v", a)
	}
	if !reflect.DeepEqual(a.Headings, []string{"DatabaseReplicationLag", "Meaning", "Mitigation"}) {
		t.Errorf("headings = %q", a.Headings)
	}
	if strings.Contains(a.Body, "title:") || !strings.Contains(a.Body, "standby applies WAL") {
		t.Errorf("body = %q", a.Body)
	}
	a, _ = ParseArticle("web/CheckoutLatencyHigh", []byte(corpus["web/CheckoutLatencyHigh.md"]))
	if a.Title != "Checkout latency high" {
		t.Errorf("title from heading = %q", a.Title)
	}
	a, _ = ParseArticle("misc/notes", []byte(corpus["misc/notes.md"]))
	if a.Title != "notes" {
		t.Errorf("title from file name = %q", a.Title)
	}
	a, err = ParseArticle("x", []byte("---\ntags: a, b\n---\n```\n# not a heading\n```\nbody [link](http://example.invalid/x)\n"))
	if err != nil || !reflect.DeepEqual(a.Tags, []string{"a", "b"}) || len(a.Headings) != 0 || strings.Contains(a.Body, "example") {
		t.Errorf("tags string, fenced heading, link target: %+v %v", a, err)
	}
	if _, err := ParseArticle("bad", []byte("---\ntitle: x\nno end\n")); err == nil || !strings.Contains(err.Error(), "never closed") {
		t.Errorf("unclosed front matter: %v", err)
	}
	if _, err := ParseArticle("bad", []byte("---\ntitle: [x\n---\n")); err == nil {
		t.Error("invalid YAML accepted")
	}
	if ArticleID(filepath.Join("kubernetes", "_index.md")) != "kubernetes/_index" {
		t.Error("ArticleID")
	}
}

func TestMatchIncident(t *testing.T) {
	b, _ := openCorpus(t, corpus)
	inc := &model.Incident{ID: "inc-1", Title: "orders slow", Services: []string{"orders-db"},
		RootCause: model.RootCause{Service: "orders-db", Evidence: []string{"standby WAL replay behind"}}}
	alerts := []model.AlertState{{Alert: model.Alert{
		Labels:      model.LabelSet{"alertname": "DatabaseReplicationLag", "service": "orders-db"},
		Annotations: model.LabelSet{"summary": "replica is 300s behind"},
	}}}
	res, err := b.Match(inc, alerts, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || res[0].ID != "database/DatabaseReplicationLag" {
		t.Fatalf("got %v", ids(res))
	}
	m := strings.Join(res[0].Matched, ",")
	for _, w := range []string{"databasereplicationlag", "replication", "orders-db"} {
		if !strings.Contains(m, w) {
			t.Errorf("matched %v lacks %q", res[0].Matched, w)
		}
	}
	// Text alone (an alert from another rule set) still finds it.
	alerts[0].Labels = model.LabelSet{"alertname": "BrokerLagging"}
	alerts[0].Annotations = model.LabelSet{"description": "the message broker data volume is full and rejects writes"}
	res, err = b.Match(&model.Incident{}, alerts, 3)
	if err != nil || len(res) == 0 || res[0].ID != "queue/BrokerDiskFull" {
		t.Fatalf("text match: %v %v", ids(res), err)
	}
	if _, err := b.Match(&model.Incident{}, nil, 3); err == nil {
		t.Error("empty incident accepted")
	}
}

func TestWatchPicksUpChanges(t *testing.T) {
	dir := writeCorpus(t, corpus)
	b, err := Open(Config{Dir: dir, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Watch(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	top := func(q string) string {
		res, err := b.Search(q, 1)
		if err != nil || len(res) == 0 {
			return ""
		}
		return res[0].ID
	}
	p := filepath.Join(dir, "dns", "ResolverTimeouts.md")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte("# Resolver timeouts\n\nUpstream nameservers answer slowly.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "added file", func() bool { return top("nameservers answer slowly") == "dns/ResolverTimeouts" })

	if err := os.WriteFile(p, []byte("# Resolver timeouts\n\nThe conntrack table overflowed on the resolver hosts.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "changed file", func() bool { return top("conntrack table overflowed") == "dns/ResolverTimeouts" })
	if top("nameservers answer slowly") == "dns/ResolverTimeouts" {
		t.Error("old content still indexed")
	}

	if err := os.Remove(filepath.Join(dir, "queue", "BrokerDiskFull.md")); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "deleted file", func() bool { return top("broker stopped accepting writes") != "queue/BrokerDiskFull" })
	if b.Len() != 4 {
		t.Errorf("Len = %d after add and delete, want 4", b.Len())
	}
}

func TestOnDiskIndexPersistsAndResyncs(t *testing.T) {
	dir := writeCorpus(t, corpus)
	idx := filepath.Join(t.TempDir(), "data", "knowledge.bleve")
	b, err := Open(Config{Dir: dir, IndexPath: idx})
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 4 {
		t.Fatalf("Len = %d", b.Len())
	}
	b.Close()
	if _, err := os.Stat(filepath.Join(idx, "index_meta.json")); err != nil {
		t.Fatalf("no index on disk: %v", err)
	}
	// Changed while Sift was down: one file removed.
	os.Remove(filepath.Join(dir, "web", "CheckoutLatencyHigh.md"))
	b, err = Open(Config{Dir: dir, IndexPath: idx})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Len() != 3 {
		t.Fatalf("Len after reopen = %d, want 3", b.Len())
	}
	ch, err := b.Sync()
	if err != nil || ch.Added+ch.Updated+ch.Removed != 0 {
		t.Fatalf("second sync redid work: %+v %v", ch, err)
	}
	if res, _ := b.Search("checkout requests", 3); len(res) != 0 {
		t.Errorf("removed article still found: %v", ids(res))
	}
	// Unchanged articles are not re-indexed, but the ranker reads them.
	if res, _ := b.Search("broker stopped accepting writes", 3); len(res) == 0 || res[0].ID != "queue/BrokerDiskFull" {
		t.Errorf("unchanged article after reopen: %v", ids(res))
	}
	// A path that is not a bleve index is never deleted.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "keep.txt"), []byte("x"), 0o644)
	if _, err := Open(Config{Dir: dir, IndexPath: other}); err == nil {
		t.Error("opened a non-index directory as index")
	}
	if _, err := os.Stat(filepath.Join(other, "keep.txt")); err != nil {
		t.Error("foreign file deleted")
	}
}

func TestOpenErrorsAndConfig(t *testing.T) {
	if _, err := Open(Config{Dir: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("missing dir accepted")
	}
	for _, c := range []Config{{PollInterval: -time.Second}, {Dir: "x", PollInterval: time.Millisecond}, {IndexPath: "x"}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	b, err := Open(Config{})
	if err != nil {
		t.Fatalf("zero config: %v", err)
	}
	defer b.Close()
	if res, err := b.Search("anything", 3); err != nil || len(res) != 0 {
		t.Errorf("empty base: %v %v", res, err)
	}
}

func TestSearchHandler(t *testing.T) {
	b, _ := openCorpus(t, corpus)
	srv := httptest.NewServer(b.SearchHandler())
	defer srv.Close()
	get := func(method, query string) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+"/api/v1/knowledge/search"+query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: content type %q", query, ct)
		}
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return resp.StatusCode, body
	}
	for _, q := range []string{"", "?q=", "?q=broker&limit=abc", "?q=broker&limit=0", "?q=broker&limit=1000", "?q=%20%2C%2C"} {
		code, body := get("GET", q)
		if code != 400 || body["error"] == "" || body["error"] == nil {
			t.Errorf("%q: %d %v, want 400 with error", q, code, body)
		}
	}
	if code, body := get("POST", "?q=broker"); code != 405 || body["error"] == nil {
		t.Errorf("POST: %d %v", code, body)
	}
	code, body := get("GET", "?q=broker+disk+full&limit=2")
	if code != 200 {
		t.Fatalf("status %d: %v", code, body)
	}
	results, ok := body["results"].([]any)
	if !ok || len(results) == 0 || len(results) > 2 {
		t.Fatalf("results = %v", body)
	}
	first := results[0].(map[string]any)
	if first["id"] != "queue/BrokerDiskFull" || first["title"] != "Broker disk full" {
		t.Errorf("first = %v", first)
	}
	if s, ok := first["score"].(float64); !ok || s <= 0 {
		t.Errorf("score = %v", first["score"])
	}
	if m, ok := first["matched"].([]any); !ok || len(m) == 0 {
		t.Errorf("matched = %v", first["matched"])
	}
	code, body = get("GET", "?q=zebra")
	if r, ok := body["results"].([]any); code != 200 || !ok || len(r) != 0 {
		t.Errorf("no match: %d %v, want empty results array", code, body)
	}
}

func TestSearchMain(t *testing.T) {
	dir := writeCorpus(t, corpus)
	var out, errb bytes.Buffer
	if code := SearchMain([]string{"--dir", dir, "--limit", "2", "broker", "disk", "full"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "1 ") || !strings.Contains(lines[1], "queue/BrokerDiskFull") || !strings.Contains(lines[1], "Broker disk full") {
		t.Errorf("table output:\n%s", out.String())
	}
	out.Reset()
	if code := SearchMain([]string{"checkout latency", "--json", "--dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("json exit %d: %s", code, errb.String())
	}
	var resp struct{ Results []Result }
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil || len(resp.Results) == 0 || resp.Results[0].ID != "web/CheckoutLatencyHigh" {
		t.Errorf("json output %q: %v", out.String(), err)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"text"}, 2, "--dir is required"},
		{[]string{"--dir", dir}, 2, "no search text"},
		{[]string{"--dir", dir, "--limit", "0", "x"}, 2, "--limit"},
		{[]string{"--bogus"}, 2, "bogus"},
		{[]string{"--dir", filepath.Join(dir, "nope"), "x"}, 1, "no such file"},
	} {
		errb.Reset()
		if code := SearchMain(c.args, &out, &errb); code != c.code || !strings.Contains(errb.String(), c.msg) {
			t.Errorf("%v: exit %d %q, want %d containing %q", c.args, code, errb.String(), c.code, c.msg)
		}
	}
}

func TestDraft(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	inc := &model.Incident{ID: "inc-42", Title: "Orders database replica behind", Status: model.IncidentResolved,
		OpenedAt: t0, ResolvedAt: t0.Add(40 * time.Minute), Services: []string{"orders-db"},
		RootCause: model.RootCause{Service: "orders-db", Evidence: []string{"WAL sender saturated the 1Gb link"}},
		Notes:     "Moved the replica to the 10Gb network and restarted replication.",
		Members:   []model.Member{{Name: "OrdersApiSlow", Service: "orders-api", JoinedAt: t0.Add(2 * time.Minute), Reason: model.Reason{Kind: model.ReasonTopology}}},
	}
	alerts := []model.AlertState{{
		Alert: model.Alert{Labels: model.LabelSet{"alertname": "DatabaseReplicationLag", "service": "orders-db", "severity": "critical"},
			Annotations: model.LabelSet{"summary": "replica 300s behind primary"}},
		Status: model.StatusResolved, FirstSeen: t0, LastSeen: t0.Add(30 * time.Minute), ResolvedAt: t0.Add(35 * time.Minute), Count: 3,
	}}
	linked := []*model.Incident{{ID: "inc-17", Title: "Replica lag after backup", Status: model.IncidentResolved, OpenedAt: t0.Add(-48 * time.Hour)}}
	md := Draft(inc, alerts, linked)
	for _, want := range []string{"status: draft", "# Orders database replica behind", "## Symptoms", "DatabaseReplicationLag",
		"replica 300s behind primary", "2026-03-04T10:00:00Z", "OrdersApiSlow", "## Probable cause", "orders-db",
		"WAL sender saturated the 1Gb link", "## Resolution", inc.Notes, "## Linked incidents", "inc-17", "Replica lag after backup"} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
	// The draft is a valid article: saved into the knowledge base it is
	// found for the same alerts next time.
	a, err := ParseArticle("drafts/inc-42", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != inc.Title || !reflect.DeepEqual(a.Alerts, []string{"DatabaseReplicationLag", "OrdersApiSlow"}) {
		t.Errorf("parsed draft: title %q alerts %v", a.Title, a.Alerts)
	}
	b, _ := openCorpus(t, map[string]string{"drafts/inc-42.md": md, "web/CheckoutLatencyHigh.md": corpus["web/CheckoutLatencyHigh.md"]})
	res, err := b.Match(&model.Incident{}, []model.AlertState{{Alert: model.Alert{Labels: model.LabelSet{"alertname": "OrdersApiSlow"}}}}, 3)
	if err != nil || len(res) == 0 || res[0].ID != "drafts/inc-42" {
		t.Errorf("draft not matched: %v %v", ids(res), err)
	}
	if md := Draft(&model.Incident{ID: "x"}, nil, nil); !strings.Contains(md, "No notes were recorded") || !strings.Contains(md, "_None._") {
		t.Errorf("empty draft:\n%s", md)
	}
}

// TestRealRunbooks indexes the Prometheus Operator runbooks.
func TestRealRunbooks(t *testing.T) {
	data := testenv.SharedData(t)
	b, err := Open(Config{Dir: filepath.Join(data, "runbooks")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n := b.Len(); n < 100 {
		t.Fatalf("indexed %d runbooks, want about 108", n)
	}
	for q, want := range map[string]string{
		"pod is crash looping restarting":       "kubernetes/KubePodCrashLooping",
		"etcd cluster has no leader":            "etcd/etcdNoLeader",
		"filesystem almost out of space":        "node/NodeFilesystemAlmostOutOfSpace",
		"KubeletClientCertificateRenewalErrors": "kubernetes/KubeletClientCertificateRenewalErrors",
	} {
		res, err := b.Search(q, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !contains(ids(res), want) {
			t.Errorf("%q: top 3 = %v, want %s among them", q, ids(res), want)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
