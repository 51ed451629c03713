package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The secrets of the test tokens, by name.
var secrets = map[string]string{
	"prom":    "ingest-secret-0123456789abcdef",
	"oncall":  "agent-secret-0123456789abcdef",
	"finance": "analyst-secret-0123456789abcdef",
	"root":    "admin-secret-0123456789abcdef",
	"mixed":   "mixed-secret-0123456789abcdef",
}

func testConfig(t *testing.T) Config {
	t.Helper()
	roles := map[string][]string{
		"prom": {RoleIngest}, "oncall": {RoleAgent}, "finance": {RoleAnalyst}, "root": {RoleAdmin},
		"mixed": {RoleIngest, RoleAnalyst},
	}
	var c Config
	for _, n := range []string{"prom", "oncall", "finance", "root", "mixed"} {
		env := "SIFT_TEST_TOKEN_" + strings.ToUpper(n)
		t.Setenv(env, secrets[n])
		c.Tokens = append(c.Tokens, Token{Name: n, TokenEnv: env, Roles: roles[n]})
	}
	return c
}

// siftMux registers Sift's routes (and some being added) with a handler
// that answers 200 and the token name; the catch-all answers 404.
func siftMux() *http.ServeMux {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Token-Name", TokenName(r.Context()))
		w.WriteHeader(http.StatusOK)
	}
	for _, p := range []string{
		"GET /healthz", "GET /readyz", "GET /-/healthy", "GET /-/ready",
		"POST /api/v2/alerts", "GET /api/v2/alerts", "/api/v2/alerts",
		"GET /api/v2/status", "GET /api/v2/receivers",
		"GET /api/v2/silences", "POST /api/v2/silences", "DELETE /api/v2/silence/{silenceID}",
		"POST /api/v1/webhooks/alertmanager", "POST /api/v1/events",
		"POST /api/v1/changes", "GET /api/v1/changes", "POST /api/v1/changes/github",
		"GET /api/v1/incidents", "GET /api/v1/incidents/{id}", "GET /api/v1/incidents/{id}/explain",
		"POST /api/v1/incidents/{id}/{action}", "POST /api/v1/incidents/{id}/classify",
		"POST /api/v1/incidents/{id}/draft-article", "GET /api/v1/incidents/{id}/triage",
		"GET /api/v1/problems", "GET /api/v1/problems/{id}", "GET /api/v1/alertnames",
		"GET /api/v1/knowledge/search", "GET /api/v1/analytics/{endpoint}",
		"GET /metrics", "GET /debug/pprof/", "GET /debug/pprof/profile",
		"GET /api/v1/stream", "GET /api/v1/notify/targets", "POST /api/v1/notify/test",
		"GET /api/v1/openapi.json", "GET /api/v1/somethingnew", "PUT /api/v1/somethingnew",
	} {
		mux.HandleFunc(p, ok)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	return mux
}

type fixture struct {
	h    http.Handler
	logs *bytes.Buffer
	reg  *prometheus.Registry
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	g, err := NewGuard(testConfig(t), reg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	mux := siftMux()
	return fixture{h: g.Middleware(mux, mux), logs: &logs, reg: reg}
}

func (f fixture) do(method, path string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func (f fixture) as(name, method, path string) *httptest.ResponseRecorder {
	return f.do(method, path, "Authorization", "Bearer "+secrets[name])
}

// Which tokens may use each route; the others get 403.
func TestPolicyPerRole(t *testing.T) {
	f := newFixture(t)
	const (
		all     = "prom oncall finance root mixed"
		reads   = "oncall finance root mixed"
		senders = "prom oncall root mixed"
		agents  = "oncall root"
		admins  = "root"
		analyst = "finance root mixed"
	)
	cases := []struct {
		method, path, allowed string
		code                  int // for the allowed (200 unless said)
	}{
		{"POST", "/api/v2/alerts", senders, 200},
		{"POST", "/api/v1/webhooks/alertmanager", senders, 200},
		{"POST", "/api/v1/events", senders, 200},
		{"POST", "/api/v1/changes", senders, 200},
		{"POST", "/api/v1/changes/github", senders, 200},
		{"GET", "/api/v2/alerts", reads, 200},
		{"HEAD", "/api/v2/alerts", reads, 200},
		{"PUT", "/api/v2/alerts", admins, 200}, // method-less route: mutating default
		{"GET", "/api/v2/status", reads, 200},  // unlisted GET
		{"GET", "/api/v1/incidents", reads, 200},
		{"GET", "/api/v1/incidents/INC-1", reads, 200},
		{"GET", "/api/v1/incidents/INC-1/explain", reads, 200},
		{"GET", "/api/v1/problems", reads, 200},
		{"GET", "/api/v1/problems/PRB-1", reads, 200},
		{"GET", "/api/v1/alertnames", reads, 200},
		{"GET", "/api/v1/changes", reads, 200},
		{"GET", "/api/v1/stream", reads, 200},
		{"GET", "/api/v1/incidents/INC-1/triage", agents, 200},
		{"GET", "/api/v1/knowledge/search", agents, 200},
		{"GET", "/api/v2/silences", agents, 200},
		{"GET", "/api/v1/notify/targets", agents, 200},
		{"POST", "/api/v1/incidents/INC-1/ack", agents, 200},
		{"POST", "/api/v1/incidents/INC-1/resolve", agents, 200},
		{"POST", "/api/v1/incidents/INC-1/classify", agents, 200},
		{"POST", "/api/v1/incidents/INC-1/draft-article", agents, 200},
		{"POST", "/api/v2/silences", agents, 200},
		{"DELETE", "/api/v2/silence/abc", agents, 200},
		{"GET", "/api/v1/analytics/volume", analyst, 200},
		{"GET", "/metrics", admins, 200},
		{"GET", "/debug/pprof/", admins, 200},
		{"GET", "/debug/pprof/heap", admins, 200},
		{"GET", "/debug/pprof/profile", admins, 200},
		{"POST", "/api/v1/notify/test", admins, 200}, // unlisted mutation
		{"GET", "/api/v1/openapi.json", all, 200},
		{"GET", "/api/v1/somethingnew", reads, 200},
		{"PUT", "/api/v1/somethingnew", admins, 200},
		{"GET", "/no/such/route", all, 404},
		{"DELETE", "/no/such/route", all, 404},
	}
	for _, c := range cases {
		for name := range secrets {
			want := http.StatusForbidden
			if strings.Contains(" "+c.allowed+" ", " "+name+" ") {
				want = c.code
			}
			w := f.as(name, c.method, c.path)
			if w.Code != want {
				t.Errorf("%s %s as %s: %d (want %d) %s", c.method, c.path, name, w.Code, want, w.Body)
				continue
			}
			if want == 200 && w.Header().Get("X-Token-Name") != name {
				t.Errorf("%s %s as %s: TokenName in the handler = %q", c.method, c.path, name, w.Header().Get("X-Token-Name"))
			}
			if want == 403 {
				var e struct{ Error string }
				if json.Unmarshal(w.Body.Bytes(), &e) != nil || !strings.Contains(e.Error, `"`+name+`"`) || !strings.Contains(e.Error, "needs role") {
					t.Errorf("%s %s as %s: 403 body %s: want the token name and the role needed", c.method, c.path, name, w.Body)
				}
			}
		}
	}
	w := f.as("prom", "POST", "/api/v1/incidents/INC-1/ack")
	if !strings.Contains(w.Body.String(), "needs role agent (or admin)") {
		t.Errorf("403 body does not name the role needed: %s", w.Body)
	}
	if w := f.as("oncall", "GET", "/metrics"); !strings.Contains(w.Body.String(), "needs role admin") {
		t.Errorf("403 body does not name the role needed: %s", w.Body)
	}
}

func TestHealthIsOpen(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/healthz", "/readyz", "/-/healthy", "/-/ready"} {
		for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "Basic eDp5"}} {
			if w := f.do("GET", p, hdr...); w.Code != 200 {
				t.Errorf("GET %s %v: %d", p, hdr, w.Code)
			}
		}
	}
	if w := f.do("POST", "/healthz"); w.Code != http.StatusUnauthorized {
		t.Errorf("POST /healthz without token: %d (the catch-all needs a token)", w.Code)
	}
}

func TestUnauthenticated(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		header []string
		reason string
	}{
		{"missing", nil, ReasonMissing},
		{"wrong token", []string{"Authorization", "Bearer not-a-token"}, ReasonInvalid},
		{"prefix of a token", []string{"Authorization", "Bearer " + secrets["root"][:10]}, ReasonInvalid},
		{"token plus a byte", []string{"Authorization", "Bearer " + secrets["root"] + "x"}, ReasonInvalid},
		{"basic scheme", []string{"Authorization", "Basic " + secrets["root"]}, ReasonInvalid},
		{"no scheme", []string{"Authorization", secrets["root"]}, ReasonInvalid},
		{"empty bearer", []string{"Authorization", "Bearer "}, ReasonInvalid},
		{"two tokens", []string{"Authorization", "Bearer " + secrets["root"] + " " + secrets["prom"]}, ReasonInvalid},
		{"two headers", []string{"Authorization", "Bearer " + secrets["root"], "Authorization", "Bearer " + secrets["root"]}, ReasonInvalid},
		{"empty header", []string{"Authorization", ""}, ReasonInvalid},
	}
	want := map[string]float64{}
	for _, c := range cases {
		for _, route := range [][2]string{{"POST", "/api/v2/alerts"}, {"GET", "/api/v1/incidents"}, {"GET", "/no/such/route"}, {"GET", "/metrics"}} {
			w := f.do(route[0], route[1], c.header...)
			var e struct {
				Error string `json:"error"`
			}
			if w.Code != http.StatusUnauthorized || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Errorf("%s, %s %s: %d %s (want 401 with a JSON error)", c.name, route[0], route[1], w.Code, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != `Bearer realm="sift"` {
				t.Errorf("%s: WWW-Authenticate %q", c.name, got)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s: Content-Type %q", c.name, ct)
			}
			want[c.reason]++
		}
	}
	f.as("prom", "GET", "/metrics")
	want[ReasonForbidden]++
	for _, r := range []string{ReasonMissing, ReasonInvalid, ReasonForbidden} {
		if got := denied(t, f.reg, r); got != want[r] {
			t.Errorf("sift_auth_denied_total{reason=%q} = %v, want %v", r, got, want[r])
		}
	}
	// "bearer" in any case is the Bearer scheme.
	if w := f.do("GET", "/api/v1/incidents", "Authorization", "bearer  "+secrets["oncall"]+" "); w.Code != 200 {
		t.Errorf("lower-case scheme, extra spaces: %d %s", w.Code, w.Body)
	}
}

func denied(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sift_auth_denied_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no sift_auth_denied_total{reason=%q}", reason)
	return 0
}

// No answer (body or header) and no log line holds a token, whatever was
// sent.
func TestTokensNeverInLogsOrAnswers(t *testing.T) {
	f := newFixture(t)
	var out bytes.Buffer
	for name, s := range secrets {
		for _, route := range [][2]string{{"POST", "/api/v1/incidents/INC-1/ack"}, {"GET", "/metrics"}, {"GET", "/api/v1/analytics/volume"}, {"POST", "/api/v2/alerts"}, {"GET", "/nope"}} {
			for _, hdr := range []string{"Bearer " + s, "Bearer " + s + "0", "Basic " + s, s} {
				w := f.do(route[0], route[1], "Authorization", hdr)
				out.WriteString(name + " " + w.Body.String())
				for k, v := range w.Header() {
					out.WriteString(k + ": " + strings.Join(v, ",") + "\n")
				}
			}
		}
	}
	if f.logs.Len() == 0 {
		t.Fatal("no refusal was logged at debug level")
	}
	for name, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Errorf("the token of %s is in an answer", name)
		}
		if strings.Contains(f.logs.String(), s) {
			t.Errorf("the token of %s is in the log", name)
		}
	}
	// A bad configuration is reported without the token either.
	t.Setenv("SIFT_TEST_DUP", secrets["root"])
	c := testConfig(t)
	c.Tokens = append(c.Tokens, Token{Name: "dup", TokenEnv: "SIFT_TEST_DUP", Roles: []string{RoleAdmin}})
	err := c.Validate()
	if err == nil || strings.Contains(err.Error(), secrets["root"]) || !strings.Contains(err.Error(), "auth.tokens[5].token_env") {
		t.Errorf("duplicate token: %v", err)
	}
	c = Config{Tokens: []Token{{Name: "pasted", TokenEnv: "abc-def-" + secrets["root"], Roles: []string{RoleAdmin}}}}
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), secrets["root"]) {
		t.Errorf("a token pasted as token_env: %v", err)
	}
}

// Every configured token is compared, in constant time, whichever matches.
func TestConstantTimeComparison(t *testing.T) {
	g, err := NewGuard(testConfig(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	orig := compare
	compare = func(a, b []byte) int { calls++; return orig(a, b) }
	defer func() { compare = orig }()
	for i, tok := range g.tokens {
		calls = 0
		e := g.match(secrets[tok.name])
		if e == nil || e.name != tok.name {
			t.Fatalf("token %d (%s) matched %v", i, tok.name, e)
		}
		if calls != len(g.tokens) {
			t.Errorf("token %d: %d comparisons, want %d (one per configured token)", i, calls, len(g.tokens))
		}
	}
	calls = 0
	if e := g.match("nope"); e != nil || calls != len(g.tokens) {
		t.Errorf("unknown token: %v after %d comparisons", e, calls)
	}
	for _, e := range g.tokens {
		if strings.Contains(string(e.digest[:]), secrets[e.name]) {
			t.Error("the guard keeps a token in clear")
		}
	}
}

func TestOffWithoutTokens(t *testing.T) {
	g, err := NewGuard(Config{}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := siftMux()
	if g.Enabled() {
		t.Fatal("enabled without tokens")
	}
	w := httptest.NewRecorder()
	g.Middleware(mux, mux).ServeHTTP(w, httptest.NewRequest("POST", "/api/v1/incidents/INC-1/ack", nil))
	if w.Code != 200 {
		t.Fatalf("without tokens: %d", w.Code)
	}
}

func TestValidate(t *testing.T) {
	t.Setenv("SIFT_A", "token-a-0123456789abcdef")
	t.Setenv("SIFT_B", "token-b-0123456789abcdef")
	t.Setenv("SIFT_EMPTY", "")
	t.Setenv("SIFT_SPACE", "two words")
	tok := func(name, env string, roles ...string) Token { return Token{Name: name, TokenEnv: env, Roles: roles} }
	cases := []struct {
		toks []Token
		want string // "" for valid
	}{
		{nil, ""},
		{[]Token{tok("a", "SIFT_A", "ingest"), tok("b", "SIFT_B", "agent", "analyst")}, ""},
		{[]Token{tok("a", "", "ingest")}, "auth.tokens[0].token_env: missing"},
		{[]Token{tok("a", "SIFT_UNSET_FOR_TEST", "ingest")}, "auth.tokens[0].token_env: environment variable SIFT_UNSET_FOR_TEST is empty or unset"},
		{[]Token{tok("a", "SIFT_A", "admin"), tok("b", "SIFT_EMPTY", "admin")}, "auth.tokens[1].token_env: environment variable SIFT_EMPTY is empty"},
		{[]Token{tok("a", "SIFT_SPACE", "admin")}, "auth.tokens[0].token_env: the token in SIFT_SPACE contains spaces"},
		{[]Token{tok("a", "not a name", "admin")}, "auth.tokens[0].token_env: must be the name of an environment variable"},
		{[]Token{tok("a", "SIFT_A", "ingest", "superuser")}, `auth.tokens[0].roles[1]: unknown role "superuser"`},
		{[]Token{tok("a", "SIFT_A")}, "auth.tokens[0].roles: missing"},
		{[]Token{tok("", "SIFT_A", "admin")}, "auth.tokens[0].name: missing"},
		{[]Token{tok("a", "SIFT_A", "admin"), tok("a", "SIFT_B", "admin")}, `auth.tokens[1].name: duplicate name "a"`},
		{[]Token{tok("a", "SIFT_A", "admin"), tok("b", "SIFT_A", "admin")}, "auth.tokens[1].token_env: SIFT_A is also the variable of auth.tokens[0]"},
	}
	for i, c := range cases {
		err := Config{Tokens: c.toks}.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%d: %v", i, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%d: %v, want %q...", i, err, c.want)
		}
		if _, gerr := NewGuard(Config{Tokens: c.toks}, nil, nil); (gerr == nil) != (err == nil) {
			t.Errorf("%d: NewGuard %v, Validate %v", i, gerr, err)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:9093": true, "127.0.0.2:9093": true, "[::1]:9093": true, "localhost:9093": true,
		":9093": false, "0.0.0.0:9093": false, "[::]:9093": false, "10.1.2.3:9093": false, "sift.example.com:9093": false,
	} {
		if got := LoopbackOnly(listen); got != want {
			t.Errorf("LoopbackOnly(%q) = %v", listen, got)
		}
	}
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and
// localhost and its key into dir.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sift test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := writeSelfSigned(t, dir)
	for _, c := range []struct {
		cfg  TLS
		want string
	}{
		{TLS{}, ""},
		{TLS{CertFile: cert, KeyFile: key}, ""},
		{TLS{CertFile: cert}, "tls.key_file: missing"},
		{TLS{KeyFile: key}, "tls.cert_file: missing"},
		{TLS{CertFile: filepath.Join(dir, "nope.crt"), KeyFile: key}, "tls.cert_file: "},
		{TLS{CertFile: cert, KeyFile: cert}, "tls.cert_file: "},
	} {
		err := c.cfg.Validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	tc, err := TLS{CertFile: cert, KeyFile: key}.ServerConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: tc, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := cl.Get("https://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Fatalf("over TLS: %s", b)
	}
}

// A renewed certificate is picked up without a restart; a broken one is not.
func TestTLSReload(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := writeSelfSigned(t, dir)
	tc, err := TLS{CertFile: cert, KeyFile: key}.ServerConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := tc.GetCertificate(nil)
	defer func(d time.Duration) { reloadEvery = d }(reloadEvery)
	reloadEvery = 0
	writeSelfSigned(t, dir)
	later := time.Now().Add(time.Minute) // whatever the file system's time granularity
	os.Chtimes(cert, later, later)
	os.Chtimes(key, later, later)
	second, _ := tc.GetCertificate(nil)
	if bytes.Equal(first.Certificate[0], second.Certificate[0]) {
		t.Fatal("the renewed certificate was not loaded")
	}
	os.WriteFile(key, []byte("garbage"), 0o600)
	os.Chtimes(key, later.Add(time.Minute), later.Add(time.Minute))
	third, _ := tc.GetCertificate(nil)
	if third == nil || !bytes.Equal(third.Certificate[0], second.Certificate[0]) {
		t.Fatal("a broken key replaced the working certificate")
	}
}

// The web console's shells and static files need no token (they hold no
// data); the API they read keeps its roles.
func TestConsolePagesOpen(t *testing.T) {
	for _, p := range []string{"GET /{$}", "GET /incidents/{id}", "GET /problems", "GET /problems/{id}", "GET /trends", "GET /alerts", "GET /console/static/"} {
		if got := required(p, "GET"); got != open {
			t.Errorf("%s needs %v, want open", p, got)
		}
		if got := required(p, "HEAD"); got != open {
			t.Errorf("HEAD %s needs %v, want open", p, got)
		}
	}
	for _, p := range []string{"GET /api/v1/incidents/{id}", "GET /api/v1/problems", "GET /api/v2/alerts"} {
		if got := required(p, "GET"); got != read {
			t.Errorf("%s needs %v, want agent or analyst", p, got)
		}
	}
	if got := required("/", "GET"); got != anyToken {
		t.Errorf("the catch-all needs %v, want any token", got)
	}
}
