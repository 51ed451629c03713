package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sift-aiops/sift/config"
	"github.com/sift-aiops/sift/internal/testenv"
)

// Tokens of the access-control tests, by name; set in the environment of
// the sift child process.
var authTokens = map[string]string{
	"prom":    "e2e-ingest-4f1c2d9a7b3e5f60",
	"oncall":  "e2e-agent-8a7b6c5d4e3f2a1b",
	"finance": "e2e-analyst-0a1b2c3d4e5f6a7b",
	"root":    "e2e-admin-99887766554433221",
}

const authConfig = `auth:
  tokens:
    - name: prom
      token_env: SIFT_E2E_TOKEN_PROM
      roles: [ingest]
    - name: oncall
      token_env: SIFT_E2E_TOKEN_ONCALL
      roles: [agent]
    - name: finance
      token_env: SIFT_E2E_TOKEN_FINANCE
      roles: [analyst]
    - name: root
      token_env: SIFT_E2E_TOKEN_ROOT
      roles: [admin]
`

// startSiftWithTokens sets the token variables and starts sift with the
// auth configuration (plus extra YAML).
func startSiftWithTokens(t *testing.T, extra string) *proc {
	t.Helper()
	for name, tok := range authTokens {
		t.Setenv("SIFT_E2E_TOKEN_"+strings.ToUpper(name), tok)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sift.yml")
	if err := os.WriteFile(cfg, []byte(authConfig+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return startSift(t, "--data-dir", filepath.Join(dir, "data"), "--config", cfg)
}

// call sends a request with the named token ("" none; "!wrong" a wrong
// one) and returns the status and body.
func call(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch token {
	case "":
	case "!wrong":
		req.Header.Set("Authorization", "Bearer not-a-configured-token")
	default:
		req.Header.Set("Authorization", "Bearer "+authTokens[token])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestAuthRolesEndToEnd(t *testing.T) {
	p := startSiftWithTokens(t, "")
	now := time.Now().UTC()
	batch := []any{alertJSON("Errors", "payment", "i1", now, now.Add(time.Hour))}
	for _, c := range []struct {
		token string
		want  int
	}{{"", 401}, {"!wrong", 401}, {"finance", 403}, {"prom", 200}} {
		code, body := call(t, "POST", p.url+"/api/v2/alerts", c.token, batch)
		if code != c.want {
			t.Fatalf("POST /api/v2/alerts with token %q: %d %s (want %d)", c.token, code, body, c.want)
		}
		if code == 401 && !json.Valid(body) {
			t.Fatalf("401 body is not JSON: %s", body)
		}
	}
	// The unauthenticated learn nothing, not even whether a route exists.
	for _, path := range []string{"/api/v1/incidents", "/api/v1/incidents/INC-404", "/no/such/route", "/metrics"} {
		if code, body := call(t, "GET", p.url+path, "", nil); code != 401 {
			t.Errorf("GET %s without a token: %d %s", path, code, body)
		}
	}
	var list struct {
		Incidents []struct{ ID string } `json:"incidents"`
	}
	code, body := call(t, "GET", p.url+"/api/v1/incidents", "oncall", nil)
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list.Incidents) != 1 {
		t.Fatalf("incidents as agent: %d %s", code, body)
	}
	if code, body := call(t, "GET", p.url+"/api/v1/incidents", "prom", nil); code != 403 {
		t.Errorf("incidents as ingest: %d %s", code, body)
	}
	id := list.Incidents[0].ID
	ack := p.url + "/api/v1/incidents/" + id + "/ack"
	code, body = call(t, "POST", ack, "prom", map[string]string{"actor": "bot"})
	var e struct {
		Error string `json:"error"`
	}
	if code != 403 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, `"prom"`) || !strings.Contains(e.Error, "needs role agent") {
		t.Fatalf("ack with the ingest token: %d %s (want 403 naming the token and the role)", code, body)
	}
	if code, body := call(t, "POST", ack, "finance", map[string]string{"actor": "bean"}); code != 403 {
		t.Fatalf("ack with the analyst token: %d %s", code, body)
	}
	code, body = call(t, "POST", ack, "oncall", map[string]string{"actor": "ana"})
	if code != 200 {
		t.Fatalf("ack with the agent token: %d %s", code, body)
	}
	var acked struct {
		Incident struct {
			Status   string `json:"status"`
			Timeline []struct {
				Event string `json:"event"`
				Actor string `json:"actor"`
				Token string `json:"token"`
			} `json:"timeline"`
		} `json:"incident"`
	}
	if err := json.Unmarshal(body, &acked); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range acked.Incident.Timeline {
		if e.Event == "acknowledged" {
			found = e.Token == "oncall" && e.Actor == "ana"
		}
	}
	if !found {
		t.Fatalf("no acknowledged entry naming the token oncall in the timeline: %s", body)
	}
	// The classify correction names its token too.
	code, body = call(t, "POST", p.url+"/api/v1/incidents/"+id+"/classify", "root", map[string]string{"priority": "P1", "actor": "boss"})
	if code != 200 || !strings.Contains(string(body), `"token": "root"`) {
		t.Fatalf("classify as admin: %d %s", code, body)
	}
	// Analysts read analytics and incidents, and change nothing.
	if code, body := call(t, "GET", p.url+"/api/v1/analytics/volume", "finance", nil); code != 200 {
		t.Errorf("analytics as analyst: %d %s", code, body)
	}
	if code, body := call(t, "GET", p.url+"/api/v1/incidents/"+id, "finance", nil); code != 200 {
		t.Errorf("incident detail as analyst: %d %s", code, body)
	}
	if code, body := call(t, "GET", p.url+"/api/v1/analytics/volume", "prom", nil); code != 403 {
		t.Errorf("analytics as ingest: %d %s", code, body)
	}
	// Health is open; /metrics is admin's.
	for _, path := range []string{"/healthz", "/readyz", "/-/healthy", "/-/ready"} {
		if code, body := call(t, "GET", p.url+path, "", nil); code != 200 {
			t.Errorf("GET %s without a token: %d %s", path, code, body)
		}
	}
	if code, _ := call(t, "GET", p.url+"/metrics", "oncall", nil); code != 403 {
		t.Errorf("/metrics as agent: %d", code)
	}
	code, body = call(t, "GET", p.url+"/metrics", "root", nil)
	if code != 200 || !strings.Contains(string(body), `sift_auth_denied_total{reason="forbidden"}`) {
		t.Errorf("/metrics as admin: %d (sift_auth_denied_total present: %v)", code, strings.Contains(string(body), "sift_auth_denied_total"))
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	for name, tok := range authTokens {
		if strings.Contains(p.logs.String(), tok) {
			t.Errorf("the token of %s is in sift's log", name)
		}
	}
}

// A real Prometheus sends its alerts with the ingest token
// (alerting.alertmanagers[].authorization) to a Sift that requires one.
func TestAuthRealPrometheusWithToken(t *testing.T) {
	testenv.Require(t, "prometheus")
	p := startSiftWithTokens(t, "")
	hostPort := strings.TrimPrefix(p.url, "http://")
	testenv.StartPrometheus(t, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
alerting:
  alertmanagers:
    - api_version: v2
      authorization:
        type: Bearer
        credentials: %q
      static_configs:
        - targets: [%q]
`, authTokens["prom"], hostPort), `groups:
  - name: sift-auth-e2e
    rules:
      - alert: SiftAuthE2EAlwaysFiring
        expr: vector(1) > 0
        labels:
          service: billing
          severity: critical
        annotations:
          summary: always firing test alert sent with a token
`)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		code, body := call(t, "GET", p.url+"/api/v1/incidents", "oncall", nil)
		if code != 200 {
			t.Fatalf("incidents: %d %s", code, body)
		}
		if strings.Contains(string(body), "SiftAuthE2EAlwaysFiring") {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatal("the alert from Prometheus never reached sift")
}

// writeTestCert writes a self-signed certificate for 127.0.0.1 and its key
// into dir and returns them with a pool that trusts the certificate.
func writeTestCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "sift e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:        true, BasicConstraintsValid: true,
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
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// sift serves HTTPS with the configured certificate (and tokens still
// apply over it).
func TestTLSServe(t *testing.T) {
	for name, tok := range authTokens {
		t.Setenv("SIFT_E2E_TOKEN_"+strings.ToUpper(name), tok)
	}
	dir := t.TempDir()
	certFile, keyFile, pool := writeTestCert(t, dir)
	cfg := filepath.Join(dir, "sift.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile)+authConfig), 0o644)
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "serve", "--listen", addr, "--data-dir", filepath.Join(dir, "data"), "--config", cfg)
	cmd.Env = append(os.Environ(), "SIFT_EXEC_MAIN=1")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sift output:\n%s", logs.String())
		}
	})
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err = cl.Get("https://" + addr + "/healthz"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("GET /healthz over https: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("GET /healthz over https: %d (TLS %v)", resp.StatusCode, resp.TLS != nil)
	}
	req, _ := http.NewRequest("GET", "https://"+addr+"/api/v1/incidents", nil)
	req.Header.Set("Authorization", "Bearer "+authTokens["oncall"])
	if resp, err = cl.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("incidents over https with a token: %v %v", resp, err)
	}
	resp.Body.Close()
	// A client that does not trust the certificate is refused.
	if _, err := http.Get("https://" + addr + "/healthz"); err == nil {
		t.Fatal("an unknown certificate was accepted by the default client")
	}
}

// syncBuffer is a bytes.Buffer safe for the child's two output pipes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Bad auth and tls sections stop both config check and serve, naming the
// field.
func TestAuthBadConfig(t *testing.T) {
	dir := t.TempDir()
	certFile, _, _ := writeTestCert(t, dir)
	t.Setenv("SIFT_E2E_SET", "a-token-of-some-length-123")
	t.Setenv("SIFT_E2E_EMPTY", "")
	for _, c := range []struct {
		yaml, want string
	}{
		{"auth:\n  tokens:\n    - name: a\n      token_env: SIFT_E2E_SET\n      roles: [ingest, superuser]\n", `auth.tokens[0].roles[1]: unknown role "superuser"`},
		{"auth:\n  tokens:\n    - name: a\n      token_env: SIFT_E2E_UNSET_VARIABLE\n      roles: [agent]\n", "auth.tokens[0].token_env: environment variable SIFT_E2E_UNSET_VARIABLE is empty or unset"},
		{"auth:\n  tokens:\n    - name: a\n      token_env: SIFT_E2E_SET\n      roles: [agent]\n    - name: b\n      token_env: SIFT_E2E_EMPTY\n      roles: [agent]\n", "auth.tokens[1].token_env: environment variable SIFT_E2E_EMPTY is empty"},
		{"auth:\n  tokens:\n    - name: a\n      token_env: SIFT_E2E_SET\n      roles: [agent]\n    - name: a\n      token_env: SIFT_E2E_SET2\n      roles: [agent]\n", `auth.tokens[1].name: duplicate name "a"`},
		{"auth:\n  tokens:\n    - name: a\n      roles: [agent]\n", "auth.tokens[0].token_env: missing"},
		{"tls:\n  cert_file: " + certFile + "\n", "tls.key_file: missing"},
	} {
		f := filepath.Join(dir, "bad.yml")
		os.WriteFile(f, []byte(c.yaml), 0o644)
		code, _, errs := runCLI("config", "check", f)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("config check of\n%s: exit %d, %q (want %q)", c.yaml, code, errs, c.want)
		}
		code, _, errs = runCLI("serve", "--config", f, "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"))
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("serve with\n%s: exit %d, %q (want %q)", c.yaml, code, errs, c.want)
		}
		if strings.Contains(errs, "a-token-of-some-length-123") {
			t.Errorf("a token is in the error: %s", errs)
		}
	}
}

// Without tokens sift stays open, and says so when other machines can
// reach it.
func TestAuthOpenWarnsOffLoopback(t *testing.T) {
	for _, c := range []struct {
		listen string
		warn   bool
	}{{"127.0.0.1:0", false}, {"0.0.0.0:0", true}} {
		cfg := config.Default()
		cfg.Listen, cfg.DataDir = c.listen, t.TempDir()
		var logs syncBuffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- serve(ctx, cfg, log, ready) }()
		var addr string
		select {
		case addr = <-ready:
		case err := <-done:
			cancel()
			t.Fatalf("serve: %v", err)
		}
		_, port, _ := net.SplitHostPort(addr)
		resp, err := http.Get("http://127.0.0.1:" + port + "/api/v1/incidents")
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s without tokens: %v %v", c.listen, resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), "no API tokens (auth.tokens)"); got != c.warn {
			t.Errorf("listen %s: warning %v, want %v:\n%s", c.listen, got, c.warn, logs.String())
		}
	}
}
