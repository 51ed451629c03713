package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/config"
)

// The OpenAPI document (openapi.json, served at GET /api/v1/openapi.json)
// is checked here: against itself (valid JSON, OpenAPI 3.0, every $ref
// resolves), against the routes serve registers (each documented, each
// documented operation registered), and against a running server (requests
// that must fail get a status the document lists for the operation, with
// a body matching the Error schema; what the GET operations answer matches
// their schemas). A route registered without being documented fails here.

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// apiOp is one documented operation.
type apiOp struct {
	method string // upper case
	path   string // as documented: /api/v1/incidents/{id}
	op     map[string]any
	params []map[string]any // path-level and operation parameters, resolved
}

func (o *apiOp) String() string { return o.method + " " + o.path }

func (o *apiOp) lists(code int) bool {
	_, ok := o.op["responses"].(map[string]any)[strconv.Itoa(code)]
	return ok
}

func (o *apiOp) secured(doc map[string]any) bool {
	sec, ok := o.op["security"]
	if !ok {
		sec = doc["security"]
	}
	l, _ := sec.([]any)
	return len(l) > 0
}

func (o *apiOp) param(in, name string) map[string]any {
	for _, p := range o.params {
		if p["in"] == in && p["name"] == name {
			return p
		}
	}
	return nil
}

// example is the example of the operation's JSON request body (nil if it
// has none).
func (o *apiOp) example() []byte {
	rb, _ := o.op["requestBody"].(map[string]any)
	if rb == nil {
		return nil
	}
	mt, _ := rb["content"].(map[string]any)["application/json"].(map[string]any)
	if mt == nil || mt["example"] == nil {
		return nil
	}
	b, _ := json.Marshal(mt["example"])
	return b
}

// resolveRef returns what a local reference ("#/components/...") points
// to, or nil.
func resolveRef(doc map[string]any, ref string) any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[tok]; !ok {
			return nil
		}
	}
	return cur
}

// deref follows $ref until an object without one.
func deref(doc map[string]any, v any) map[string]any {
	for i := 0; i < 10; i++ {
		m, _ := v.(map[string]any)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		v = resolveRef(doc, ref)
	}
	return nil
}

func operations(doc map[string]any) []*apiOp {
	var out []*apiOp
	paths, _ := doc["paths"].(map[string]any)
	for path, pi := range paths {
		item, _ := pi.(map[string]any)
		var common []map[string]any
		for _, p := range asList(item["parameters"]) {
			common = append(common, deref(doc, p))
		}
		for _, m := range httpMethods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			o := &apiOp{method: strings.ToUpper(m), path: path, op: op, params: slices.Clone(common)}
			for _, p := range asList(op["parameters"]) {
				o.params = append(o.params, deref(doc, p))
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", doc["openapi"])
	}
	if info, _ := doc["info"].(map[string]any); info["title"] == nil || info["version"] == nil {
		t.Error("info needs title and version")
	}
	// Every $ref resolves.
	var walk func(v any, at string)
	refs := 0
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				refs++
				if resolveRef(doc, ref) == nil {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
			}
			for k, x := range v {
				walk(x, at+"/"+k)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(doc, "#")
	if refs == 0 {
		t.Error("no $ref at all")
	}
	comps, _ := doc["components"].(map[string]any)
	schemes, _ := comps["securitySchemes"].(map[string]any)
	if b := deref(doc, schemes["bearer"]); b["type"] != "http" || b["scheme"] != "bearer" {
		t.Errorf("components.securitySchemes.bearer = %v, want type http, scheme bearer", schemes["bearer"])
	}
	errSchema := deref(doc, resolveRef(doc, "#/components/schemas/Error"))
	if errSchema == nil || !slices.Contains(asList(errSchema["required"]), any("error")) {
		t.Fatalf("components.schemas.Error must require error: %v", errSchema)
	}
	ids := map[string]string{}
	for _, o := range operations(doc) {
		id, _ := o.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", o)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q also used by %s", o, id, prev)
		}
		ids[id] = o.String()
		// Path parameters: each {name} declared, each declared used.
		inPath := map[string]bool{}
		for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
			inPath[m[1]] = true
			if p := o.param("path", m[1]); p == nil || p["required"] != true {
				t.Errorf("%s: path parameter %s not declared (in: path, required: true)", o, m[1])
			}
		}
		for _, p := range o.params {
			if p == nil {
				t.Errorf("%s: a parameter does not resolve", o)
				continue
			}
			if p["in"] == "path" && !inPath[p["name"].(string)] {
				t.Errorf("%s: parameter %v is not in the path", o, p["name"])
			}
			if p["schema"] == nil {
				t.Errorf("%s: parameter %v has no schema", o, p["name"])
			}
		}
		// Responses: a 2xx, 405 for every path (other methods), 401 and
		// 403 where a token is needed, and every error is an Error.
		resps, _ := o.op["responses"].(map[string]any)
		ok2xx := false
		for code, r := range resps {
			n, err := strconv.Atoi(code)
			if err != nil {
				t.Errorf("%s: response %q: want a status code", o, code)
				continue
			}
			r := deref(doc, r)
			if r == nil || r["description"] == nil {
				t.Errorf("%s %s: response without a description", o, code)
				continue
			}
			if n < 300 {
				ok2xx = true
				continue
			}
			ct, _ := r["content"].(map[string]any)
			s, _ := ct["application/json"].(map[string]any)
			if ref, _ := s["schema"].(map[string]any)["$ref"].(string); len(ct) != 1 || ref != "#/components/schemas/Error" {
				t.Errorf("%s %s: an error answer must be application/json with the Error schema", o, code)
			}
		}
		if !ok2xx {
			t.Errorf("%s: no 2xx response", o)
		}
		if !o.lists(405) {
			t.Errorf("%s: 405 (other methods on the path) is not listed", o)
		}
		if o.secured(doc) && !o.lists(401) {
			t.Errorf("%s: needs a token but does not list 401", o)
		}
		if rb, ok := o.op["requestBody"].(map[string]any); ok {
			if _, ok := rb["content"].(map[string]any)["application/json"]; !ok {
				t.Errorf("%s: request body is not application/json", o)
			}
			if !o.lists(415) || !o.lists(400) {
				t.Errorf("%s: takes a JSON body but does not list 400 and 415", o)
			}
		}
	}
}

// checkSchema returns the ways v does not match schema (nil if it does):
// enough of JSON Schema for the document (type, nullable, enum, required,
// properties, additionalProperties, items, allOf/anyOf/oneOf, minLength,
// minItems, maxItems, pattern, format date-time).
func checkSchema(doc map[string]any, schema any, v any, at string) []string {
	s := deref(doc, schema)
	if s == nil {
		return []string{at + ": unresolvable schema"}
	}
	if v == nil {
		if s["nullable"] == true || len(s) == 0 {
			return nil
		}
		if _, typed := s["type"]; typed {
			return []string{at + ": null"}
		}
	}
	var errs []string
	for _, sub := range asList(s["allOf"]) {
		errs = append(errs, checkSchema(doc, sub, v, at)...)
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		if subs := asList(s[kw]); len(subs) > 0 {
			n := 0
			for _, sub := range subs {
				if len(checkSchema(doc, sub, v, at)) == 0 {
					n++
				}
			}
			if n == 0 || kw == "oneOf" && n > 1 {
				errs = append(errs, fmt.Sprintf("%s: matches %d of the %s schemas", at, n, kw))
			}
		}
	}
	if enum := asList(s["enum"]); len(enum) > 0 && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return append(errs, fmt.Sprintf("%s: want an object, got %T", at, v))
		}
		for _, r := range asList(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: %s is missing", at, r))
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, x := range m {
			if p, ok := props[k]; ok {
				errs = append(errs, checkSchema(doc, p, x, at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: unexpected property %s", at, k))
				}
			case map[string]any:
				errs = append(errs, checkSchema(doc, ap, x, at+"."+k)...)
			}
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			return append(errs, fmt.Sprintf("%s: want an array, got %T", at, v))
		}
		if n, ok := s["minItems"].(float64); ok && float64(len(l)) < n {
			errs = append(errs, fmt.Sprintf("%s: fewer than %v items", at, n))
		}
		if n, ok := s["maxItems"].(float64); ok && float64(len(l)) > n {
			errs = append(errs, fmt.Sprintf("%s: more than %v items", at, n))
		}
		for i, x := range l {
			errs = append(errs, checkSchema(doc, s["items"], x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return append(errs, fmt.Sprintf("%s: want a string, got %T", at, v))
		}
		if n, ok := s["minLength"].(float64); ok && float64(len(str)) < n {
			errs = append(errs, fmt.Sprintf("%s: shorter than %v", at, n))
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			errs = append(errs, fmt.Sprintf("%s: %q does not match %s", at, str, p))
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", at, str))
			}
		}
	case "integer", "number":
		f, ok := v.(float64)
		if !ok {
			return append(errs, fmt.Sprintf("%s: want a number, got %T", at, v))
		}
		if s["type"] == "integer" && f != math.Trunc(f) {
			errs = append(errs, fmt.Sprintf("%s: %v is not an integer", at, f))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			errs = append(errs, fmt.Sprintf("%s: want a boolean, got %T", at, v))
		}
	}
	return errs
}

func TestOpenAPICheckSchema(t *testing.T) {
	doc := loadOpenAPI(t)
	e := map[string]any{"$ref": "#/components/schemas/Error"}
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"error": "x"}`, true},
		{`{"error": "x", "field": "limit"}`, true},
		{`{"error": ""}`, false},
		{`{"field": "x"}`, false},
		{`{"error": "x", "extra": 1}`, false},
		{`{"error": 1}`, false},
		{`["x"]`, false},
	} {
		var v any
		json.Unmarshal([]byte(c.body), &v)
		if errs := checkSchema(doc, e, v, "body"); (len(errs) == 0) != c.ok {
			t.Errorf("%s against Error: %v (want ok %v)", c.body, errs, c.ok)
		}
	}
}

// siftServer is a sift serve run in this process by TestOpenAPIAgainstServer.
type siftServer struct {
	t    *testing.T
	url  string
	doc  map[string]any
	logs *syncBuffer
	// seen records, per operation, the error statuses its requests got.
	seen     map[*apiOp]map[int]bool
	requests int
}

type apiReq struct {
	method, path string
	token        string // name in authTokens; "" none
	ctype        string
	body         []byte
	header       map[string]string
}

func (s *siftServer) do(r apiReq) (int, http.Header, []byte) {
	s.t.Helper()
	s.requests++
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, s.url+r.path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+authTokens[r.token])
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// fail sends r, which must fail with want, a status o lists, and a JSON
// body matching the Error schema.
func (s *siftServer) fail(o *apiOp, what string, r apiReq, want int) http.Header {
	s.t.Helper()
	code, h, body := s.do(r)
	if code != want {
		s.t.Errorf("%s (%s): %s %s: %d %s (want %d)", o, what, r.method, r.path, code, body, want)
	}
	if !o.lists(code) {
		s.t.Errorf("%s (%s): %s %s answered %d, which the document does not list for it", o, what, r.method, r.path, code)
	}
	s.checkError(o, r, code, h, body)
	if s.seen[o] == nil {
		s.seen[o] = map[int]bool{}
	}
	s.seen[o][code] = true
	return h
}

func (s *siftServer) checkError(o *apiOp, r apiReq, code int, h http.Header, body []byte) {
	s.t.Helper()
	if code < 400 {
		return
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.t.Errorf("%s: %s %s: %d with Content-Type %q, want application/json", o, r.method, r.path, code, ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		s.t.Errorf("%s: %s %s: %d body is not JSON: %s", o, r.method, r.path, code, body)
		return
	}
	if errs := checkSchema(s.doc, map[string]any{"$ref": "#/components/schemas/Error"}, v, "body"); len(errs) > 0 {
		s.t.Errorf("%s: %s %s: %d body %s does not match Error: %v", o, r.method, r.path, code, body, errs)
	}
}

// fill makes a concrete path of o: each {param} from vals, else the first
// value of its enum, else "no-such-<name>".
func fill(o *apiOp, vals map[string]string) string {
	return pathParam.ReplaceAllStringFunc(o.path, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := vals[name]; ok {
			return v
		}
		if p := o.param("path", name); p != nil {
			if enum := asList(p["schema"].(map[string]any)["enum"]); len(enum) > 0 {
				return enum[0].(string)
			}
		}
		return "no-such-" + name
	})
}

// matches reports whether the concrete path matches the documented
// template (a {param} matches one segment; a template ending in "/" every
// path below it, as the ServeMux does).
func matches(template, path string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if strings.HasSuffix(template, "/") && len(ps) >= len(ts) {
		ps = ps[:len(ts)]
		ps[len(ts)-1] = ""
	}
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if ts[i] != ps[i] && !pathParam.MatchString(ts[i]) {
			return false
		}
	}
	return true
}

// startSiftInProcess runs serve with access control on, pprof, a
// knowledge base, a webhook target and a maintenance window (so that every
// route is registered), and returns its URL and the patterns it
// registered.
func startSiftInProcess(t *testing.T) (string, []string, *syncBuffer) {
	t.Helper()
	for name, tok := range authTokens {
		t.Setenv("SIFT_E2E_TOKEN_"+strings.ToUpper(name), tok)
	}
	dir := t.TempDir()
	kb := filepath.Join(dir, "kb")
	os.MkdirAll(kb, 0o755)
	os.WriteFile(filepath.Join(kb, "disk.md"), []byte("# Disk full\n\nClean up old logs on the database host.\n"), 0o644)
	cfgPath := filepath.Join(dir, "sift.yml")
	os.WriteFile(cfgPath, []byte(authConfig+`debug:
  pprof: true
knowledge:
  dir: `+kb+`
notify:
  webhooks:
    - name: ticketing
      url: http://127.0.0.1:9/hook
      max_attempts: 1
maintenance:
  - name: db-patching
    service: db
    start: "`+fmt.Sprintf("%02d:00", (time.Now().UTC().Hour()+12)%24)+`"
    duration: 2h
`), 0o644) // the window is half a day away: the test's alert on db is never silenced by it
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen, cfg.DataDir = "127.0.0.1:0", filepath.Join(dir, "data")
	var patterns []string
	routesRegistered = func(p []string) { patterns = p }
	t.Cleanup(func() { routesRegistered = nil })
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("sift output:\n%s", logs.String())
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr, patterns, logs
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start:\n%s", logs.String())
	}
	return "", nil, nil
}

func TestOpenAPIAgainstServer(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := operations(doc)
	url, patterns, logs := startSiftInProcess(t)
	s := &siftServer{t: t, url: url, doc: doc, logs: logs, seen: map[*apiOp]map[int]bool{}}
	find := func(method, path string) *apiOp {
		for _, o := range ops {
			if o.method == method && o.path == path {
				return o
			}
		}
		t.Fatalf("%s %s is not documented", method, path)
		return nil
	}
	byPath := map[string][]string{} // documented path → methods
	for _, o := range ops {
		byPath[o.path] = append(byPath[o.path], o.method)
	}

	// (b) Every registered route is documented, every documented
	// operation registered.
	registered := map[string]bool{}
	for _, p := range patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = "", p
		}
		switch {
		case p == "/":
			// The catch-all: 404, or 405 for a path served with other methods.
		case method == "":
			// Answers 405 for the methods not registered on path.
			if len(byPath[path]) == 0 {
				t.Errorf("route %q: path %s is not documented", p, path)
			}
		default:
			if method == "HEAD" || !slices.Contains(byPath[path], method) {
				t.Errorf("route %q is not documented (add %s %s to cmd/sift/openapi.json)", p, method, path)
			}
			registered[method+" "+path] = true
		}
	}
	for _, o := range ops {
		if !registered[o.String()] {
			t.Errorf("%s is documented but not registered", o)
		}
	}
	if t.Failed() {
		t.Fatalf("registered routes: %q", patterns)
	}

	// Objects to point at: an incident, a silence, a change.
	now := time.Now().UTC()
	code, body := call(t, "POST", url+"/api/v2/alerts", "prom", []any{alertJSON("DiskFull", "db", "db-1", now, now.Add(time.Hour))})
	if code != 200 {
		t.Fatalf("post alert: %d %s", code, body)
	}
	var list struct {
		Incidents []struct{ ID string } `json:"incidents"`
	}
	code, body = call(t, "GET", url+"/api/v1/incidents", "root", nil)
	if json.Unmarshal(body, &list); code != 200 || len(list.Incidents) != 1 {
		t.Fatalf("incidents: %d %s", code, body)
	}
	incID := list.Incidents[0].ID
	silBody := find("POST", "/api/v2/silences").example()
	code, _, body = s.do(apiReq{method: "POST", path: "/api/v2/silences", token: "root", ctype: "application/json", body: silBody})
	var created struct{ SilenceID string }
	if json.Unmarshal(body, &created); code != 200 || created.SilenceID == "" {
		t.Fatalf("post silence (the document's example): %d %s", code, body)
	}
	for _, p := range []string{"/api/v2/alerts", "/api/v1/changes", "/api/v1/events", "/api/v1/webhooks/alertmanager"} {
		if code, _, body := s.do(apiReq{method: "POST", path: p, token: "root", ctype: "application/json", body: find("POST", p).example()}); code != 200 {
			t.Fatalf("POST %s (the document's example): %d %s", p, code, body)
		}
	}
	known := func(o *apiOp) map[string]string {
		switch {
		case strings.HasPrefix(o.path, "/api/v1/incidents/{id}"):
			return map[string]string{"id": incID}
		case strings.HasPrefix(o.path, "/api/v2/silence/{id}"):
			return map[string]string{"id": created.SilenceID}
		}
		return nil
	}

	// Positive: the description is served, to any valid token (the
	// ingest one, the least of them) and to nobody without one.
	code, h, served := s.do(apiReq{method: "GET", path: "/api/v1/openapi.json", token: "prom"})
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !bytes.Equal(served, openAPIDoc) {
		t.Errorf("GET /api/v1/openapi.json as prom: %d %q (%d bytes, want the %d of openapi.json)", code, h.Get("Content-Type"), len(served), len(openAPIDoc))
	}

	// Positive: what the GET operations answer matches their schemas.
	for _, o := range ops {
		if o.method != "GET" || o.path == "/api/v1/stream" || strings.HasPrefix(o.path, "/debug/") {
			continue // endless or slow
		}
		ok := deref(doc, o.op["responses"].(map[string]any)["200"])
		mt, _ := ok["content"].(map[string]any)["application/json"].(map[string]any)
		if mt == nil {
			continue
		}
		vals := known(o)
		if o.path == "/api/v1/problems/{id}" {
			continue // no problem recurs here
		}
		query := neturl.Values{}
		for _, p := range o.params {
			if p["in"] == "query" && p["required"] == true {
				query.Set(p["name"].(string), fmt.Sprint(p["example"]))
			}
		}
		endpoints := []string{""}
		if p := o.param("path", "endpoint"); p != nil {
			endpoints = nil
			for _, e := range asList(p["schema"].(map[string]any)["enum"]) {
				endpoints = append(endpoints, e.(string))
			}
		}
		for _, e := range endpoints {
			if e != "" {
				vals = map[string]string{"endpoint": e}
			}
			path := fill(o, vals)
			if e == "forecast" {
				path += "?by=service&key=db"
			} else if len(query) > 0 {
				path += "?" + query.Encode()
			}
			code, _, body := s.do(apiReq{method: "GET", path: path, token: "root"})
			var v any
			if code != 200 || json.Unmarshal(body, &v) != nil {
				t.Errorf("%s: GET %s: %d %s", o, path, code, body)
				continue
			}
			if errs := checkSchema(doc, mt["schema"], v, "body"); len(errs) > 0 {
				t.Errorf("%s: GET %s: the answer does not match the documented schema: %v\n%s", o, path, errs, body)
			}
		}
	}

	// (c) Requests that must fail, for each operation.
	for _, o := range ops {
		vals := known(o)
		// Without a token: 401; with a token whose roles do not allow
		// it: 403. Objects that do not exist, so that a token allowed
		// changes nothing.
		if o.secured(doc) {
			s.fail(o, "no token", apiReq{method: o.method, path: fill(o, nil)}, 401)
			if o.lists(403) {
				forbidden := false
				for _, tok := range []string{"prom", "finance", "oncall"} {
					r := apiReq{method: o.method, path: fill(o, nil), token: tok}
					code, h, body := s.do(r)
					if code == 403 {
						s.checkError(o, r, code, h, body)
						s.seen[o][403], forbidden = true, true // the 401 check made s.seen[o]
						break
					}
					if !o.lists(code) {
						t.Errorf("%s: as %s: %d %s, not listed", o, tok, code, body)
					}
				}
				if !forbidden {
					t.Errorf("%s lists 403 but no token is refused", o)
				}
			}
		}
		// Objects that do not exist: 404.
		if strings.Contains(o.path, "{") {
			ex, ct := o.example(), ""
			if ex != nil {
				ct = "application/json"
			}
			none := map[string]string{}
			enumParam, plainParam := false, false
			for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
				none[m[1]] = "no-such-" + m[1]
				if len(asList(o.param("path", m[1])["schema"].(map[string]any)["enum"])) > 0 {
					enumParam = true
				} else {
					plainParam = true
				}
			}
			s.fail(o, "unknown path values", apiReq{method: o.method, path: fill(o, none), token: "root", ctype: ct, body: ex}, 404)
			if enumParam && plainParam {
				s.fail(o, "unknown object", apiReq{method: o.method, path: fill(o, nil), token: "root", ctype: ct, body: ex}, 404)
			}
		}
		// Bodies: malformed JSON 400, not JSON 415.
		if o.method != "GET" {
			if _, ok := o.op["requestBody"]; ok {
				s.fail(o, "malformed JSON", apiReq{method: o.method, path: fill(o, vals), token: "root", ctype: "application/json", body: []byte(`{"`)}, 400)
			}
			body := o.example()
			if body == nil {
				body = []byte("x")
			}
			s.fail(o, "not JSON", apiReq{method: o.method, path: fill(o, vals), token: "root", ctype: "text/plain", body: body}, 415)
		}
		// Query parameters of a type, an enum: a value that is not one.
		if o.lists(400) {
			required := neturl.Values{}
			for _, p := range o.params {
				if p["in"] == "query" && p["required"] == true {
					required.Set(p["name"].(string), fmt.Sprint(p["example"]))
				}
			}
			for _, p := range o.params {
				if p["in"] != "query" {
					continue
				}
				sch := deref(doc, p["schema"])
				bad := map[any]string{"integer": "x1", "boolean": "maybe"}[sch["type"]]
				if len(asList(sch["enum"])) > 0 {
					bad = "no-such-value"
				}
				if bad == "" {
					continue
				}
				q := neturl.Values{}
				for k, v := range required {
					q[k] = v
				}
				q.Set(p["name"].(string), bad)
				s.fail(o, "bad "+p["name"].(string), apiReq{method: o.method, path: fill(o, vals) + "?" + q.Encode(), token: "root"}, 400)
			}
		}
	}
	// Other methods on every documented path: 405, with an Allow header
	// naming the methods the document gives the path (and every template
	// the concrete path also matches).
	for path, methods := range byPath {
		o := find(methods[0], path)
		concrete := fill(o, known(o))
		var want []string
		for p, ms := range byPath {
			if matches(p, concrete) {
				want = append(want, ms...)
			}
		}
		if slices.Contains(want, "GET") {
			want = append(want, "HEAD")
		}
		for _, m := range methods {
			h := s.fail(find(m, path), "other method", apiReq{method: "PUT", path: concrete, token: "root"}, 405)
			var allow []string
			for _, a := range strings.Split(h.Get("Allow"), ",") {
				allow = append(allow, strings.TrimSpace(a))
			}
			slices.Sort(allow)
			slices.Sort(want)
			if !slices.Equal(slices.Compact(allow), slices.Compact(want)) {
				t.Errorf("PUT %s: Allow %q, want %q", concrete, h.Get("Allow"), strings.Join(want, ", "))
			}
		}
	}

	// Input each handler checks itself.
	silence := func(mod func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(silBody, &m)
		mod(m)
		b, _ := json.Marshal(m)
		return b
	}
	incPath := "/api/v1/incidents/" + incID
	for _, c := range []struct {
		op   string // METHOD documented-path
		req  apiReq
		want int
		what string
	}{
		{op: "GET /api/v2/alerts", req: apiReq{path: "/api/v2/alerts?filter=%7Bbad"}, want: 400, what: "bad filter"},
		{op: "GET /api/v2/alerts", req: apiReq{path: "/api/v2/alerts?receiver=%28"}, want: 400, what: "bad receiver regexp"},
		{op: "GET /api/v2/silences", req: apiReq{path: "/api/v2/silences?filter=%7Bbad"}, want: 400, what: "bad filter"},
		{op: "POST /api/v2/silences", req: apiReq{path: "/api/v2/silences", body: silence(func(m map[string]any) { m["id"] = "no-such-silence" })}, want: 404, what: "unknown id"},
		{op: "POST /api/v2/silences", req: apiReq{path: "/api/v2/silences", body: silence(func(m map[string]any) { m["endsAt"] = "2001-01-01T00:00:00Z" })}, want: 400, what: "end in the past"},
		{op: "POST /api/v2/silences", req: apiReq{path: "/api/v2/silences", body: silence(func(m map[string]any) { delete(m, "createdBy") })}, want: 400, what: "no createdBy"},
		{op: "POST /api/v2/alerts", req: apiReq{path: "/api/v2/alerts", body: []byte(`[{"labels":{"alertname":"A"},"startsAt":"yesterday"}]`)}, want: 400, what: "bad time"},
		{op: "POST /api/v1/webhooks/alertmanager", req: apiReq{path: "/api/v1/webhooks/alertmanager", body: []byte(`{"version":"3","alerts":[]}`)}, want: 400, what: "version 3"},
		{op: "POST /api/v1/events", req: apiReq{path: "/api/v1/events", body: []byte(`{"name":"A","sevrity":"critical"}`)}, want: 400, what: "unknown field"},
		{op: "POST /api/v1/changes", req: apiReq{path: "/api/v1/changes", body: []byte(`{"service":"db","kind":"deploy"}`)}, want: 400, what: "no id"},
		{op: "POST /api/v1/changes", req: apiReq{path: "/api/v1/changes", body: []byte(`[]`)}, want: 400, what: "no change"},
		{op: "GET /api/v1/changes", req: apiReq{path: "/api/v1/changes?since=yesterday"}, want: 400, what: "bad since"},
		{op: "POST /api/v1/changes/github", req: apiReq{path: "/api/v1/changes/github", body: find("POST", "/api/v1/changes/github").example()}, want: 400, what: "no X-GitHub-Event"},
		{op: "GET /api/v1/incidents", req: apiReq{path: "/api/v1/incidents?since=yesterday"}, want: 400, what: "bad since"},
		{op: "POST /api/v1/incidents/{id}/{action}", req: apiReq{path: incPath + "/assign", body: []byte(`{"actor":"ana"}`)}, want: 400, what: "no assignee"},
		{op: "POST /api/v1/incidents/{id}/{action}", req: apiReq{path: incPath + "/note", body: []byte(`{"actor":"ana","notes":"typo"}`)}, want: 400, what: "unknown field"},
		{op: "POST /api/v1/incidents/{id}/classify", req: apiReq{path: incPath + "/classify", body: []byte(`{"actor":"ana"}`)}, want: 400, what: "nothing to classify"},
		{op: "POST /api/v1/incidents/{id}/draft-article", req: apiReq{path: incPath + "/draft-article?llm=true"}, want: 400, what: "no LLM"},
		{op: "GET /api/v1/knowledge/search", req: apiReq{path: "/api/v1/knowledge/search"}, want: 400, what: "no q"},
		{op: "GET /api/v1/analytics/{endpoint}", req: apiReq{path: "/api/v1/analytics/volume?by=colour"}, want: 400, what: "bad by"},
		{op: "GET /api/v1/analytics/{endpoint}", req: apiReq{path: "/api/v1/analytics/volume?colour=red"}, want: 400, what: "unknown parameter"},
		{op: "GET /api/v1/analytics/{endpoint}", req: apiReq{path: "/api/v1/analytics/forecast?by=service"}, want: 400, what: "forecast without key"},
		{op: "GET /api/v1/analytics/{endpoint}", req: apiReq{path: "/api/v1/analytics/noise?step=0s"}, want: 400, what: "bad step"},
		{op: "GET /api/v1/notify/dead-letters", req: apiReq{path: "/api/v1/notify/dead-letters"}, want: 400, what: "no target"},
		{op: "GET /api/v1/notify/dead-letters", req: apiReq{path: "/api/v1/notify/dead-letters?target=nobody"}, want: 404, what: "unknown target"},
		{op: "GET /api/v1/stream", req: apiReq{path: "/api/v1/stream?events=opened,exploded"}, want: 400, what: "unknown event"},
		// State: resolved, an incident cannot be acknowledged; expired, a
		// silence cannot be expired again.
		{op: "POST /api/v1/incidents/{id}/{action}", req: apiReq{path: incPath + "/ack", body: []byte(`{"actor":"ana"}`)}, want: 409, what: "ack of a resolved incident"},
		{op: "DELETE /api/v2/silence/{id}", req: apiReq{path: "/api/v2/silence/" + created.SilenceID}, want: 400, what: "already expired"},
	} {
		method, path, _ := strings.Cut(c.op, " ")
		o := find(method, path)
		c.req.method, c.req.token = method, "root"
		if c.req.body != nil {
			c.req.ctype = "application/json"
		}
		switch c.what {
		case "ack of a resolved incident":
			if code, _, body := s.do(apiReq{method: "POST", path: incPath + "/resolve", token: "root", ctype: "application/json", body: []byte(`{"actor":"ana","note":"done"}`)}); code != 200 {
				t.Fatalf("resolve: %d %s", code, body)
			}
		case "already expired":
			if code, _, body := s.do(apiReq{method: "DELETE", path: "/api/v2/silence/" + created.SilenceID, token: "root"}); code != 200 {
				t.Fatalf("expire the silence: %d %s", code, body)
			}
		}
		s.fail(o, c.what, c.req, c.want)
	}
	// Unknown paths: 404 (the catch-all).
	for _, m := range []string{"GET", "POST", "DELETE"} {
		r := apiReq{method: m, path: "/api/v1/no/such/route", token: "root"}
		code, h, body := s.do(r)
		if code != 404 {
			t.Errorf("%s /api/v1/no/such/route: %d %s", m, code, body)
		}
		s.checkError(&apiOp{method: m, path: "(catch-all)"}, r, code, h, body)
	}

	t.Logf("%d operations, %d routes, %d requests", len(ops), len(patterns), s.requests)
	// Each operation got the failures the document lists and a request
	// can cause without breaking the server: 400 (if listed), 401 and 403
	// (if it needs a token), 404 (if listed), 405, 415 (if listed).
	for _, o := range ops {
		for _, code := range []int{400, 401, 403, 404, 405, 415} {
			if o.lists(code) && !s.seen[o][code] {
				t.Errorf("%s lists %d, but no request of this test got it: add one", o, code)
			}
		}
	}
}
