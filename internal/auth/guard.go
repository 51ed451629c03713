package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/internal/httpjson"
)

// Reasons of sift_auth_denied_total.
const (
	ReasonMissing   = "missing"   // no Authorization: Bearer header (401)
	ReasonInvalid   = "invalid"   // malformed header or unknown token (401)
	ReasonForbidden = "forbidden" // valid token, role not allowed (403)
)

// Guard checks the tokens of HTTP requests. Build it with NewGuard.
type Guard struct {
	tokens   []entry
	selfAuth map[string]bool // route patterns whose handler authenticates the request itself
	denied   *prometheus.CounterVec
	log      *slog.Logger
}

// entry is a configured token: only its digest is kept.
type entry struct {
	name   string
	digest [sha256.Size]byte
	roles  roleSet
}

// NewGuard reads every token from its environment variable (once) and
// returns the guard. With no tokens configured the guard lets everything
// through. reg (sift_auth_denied_total) and log may be nil.
func NewGuard(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Guard, error) {
	toks, err := cfg.load()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Guard{log: log}
	for _, t := range toks {
		g.tokens = append(g.tokens, entry{name: t.name, digest: sha256.Sum256([]byte(t.secret)), roles: t.roles})
		if len(t.secret) < 16 {
			log.Warn("auth: short token: use at least 16 random characters (e.g. openssl rand -hex 32)", "token_name", t.name)
		}
	}
	if reg != nil && len(g.tokens) > 0 {
		g.denied = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sift_auth_denied_total",
			Help: "HTTP requests refused by access control: missing or invalid token (401), role not allowed (403).",
		}, []string{"reason"})
		if err := reg.Register(g.denied); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("auth: registering metrics: %w", err)
			}
			g.denied = are.ExistingCollector.(*prometheus.CounterVec)
		}
		for _, r := range []string{ReasonMissing, ReasonInvalid, ReasonForbidden} {
			g.denied.WithLabelValues(r)
		}
	}
	return g, nil
}

// SelfAuthenticated lets requests to the route registered as pattern
// through without a token: its handler authenticates them itself (e.g. a
// webhook signed with a shared secret).
func (g *Guard) SelfAuthenticated(pattern string) {
	if g.selfAuth == nil {
		g.selfAuth = map[string]bool{}
	}
	g.selfAuth[pattern] = true
}

// Enabled reports whether the guard checks tokens.
func (g *Guard) Enabled() bool { return g != nil && len(g.tokens) > 0 }

type ctxKey struct{}

// TokenName returns the name of the token the request came with ("" when
// access control is off or the route needs no token).
func TokenName(ctx context.Context) string {
	s, _ := ctx.Value(ctxKey{}).(string)
	return s
}

// WithTokenName returns ctx carrying the token name (as the middleware
// does; for tests and internal callers).
func WithTokenName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, ctxKey{}, name)
}

// compare is the constant-time comparison (a variable for tests).
var compare = subtle.ConstantTimeCompare

// match returns the configured token equal to presented, or nil. It
// compares SHA-256 digests (fixed length) with every configured token,
// without stopping at a match, so that the time taken says nothing about
// which token matched or how much of one did.
func (g *Guard) match(presented string) *entry {
	d := sha256.Sum256([]byte(presented))
	found := -1
	for i := range g.tokens {
		eq := compare(d[:], g.tokens[i].digest[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return nil
	}
	return &g.tokens[found]
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
// ok is false for a missing header; token is "" for a malformed one.
func bearer(h http.Header) (token string, present bool) {
	vals := h.Values("Authorization")
	if len(vals) == 0 {
		return "", false
	}
	if len(vals) > 1 {
		return "", true
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", true
	}
	return tok, true
}

// Middleware checks each request before next sees it: it finds the route
// with mux.Handler (the same match next will make), looks up the roles the
// route needs (policy.go) and answers 401 (no or wrong token) or 403 (role
// not allowed) itself. An allowed request goes to next with the token name
// in its context (TokenName). With no tokens configured it returns next.
func (g *Guard) Middleware(mux *http.ServeMux, next http.Handler) http.Handler {
	if !g.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		need := required(pattern, r.Method)
		if need == open || g.selfAuth[pattern] {
			next.ServeHTTP(w, r)
			return
		}
		tok, present := bearer(r.Header)
		if !present {
			g.deny(w, r, http.StatusUnauthorized, ReasonMissing, "", "missing token: send Authorization: Bearer <token>")
			return
		}
		if tok == "" {
			g.deny(w, r, http.StatusUnauthorized, ReasonInvalid, "", "malformed Authorization header: want Bearer <token>")
			return
		}
		e := g.match(tok)
		if e == nil {
			g.deny(w, r, http.StatusUnauthorized, ReasonInvalid, "", "invalid token")
			return
		}
		if need != anyToken && e.roles&(need|admin) == 0 {
			want := (need &^ (open | anyToken)).String()
			if want == "" {
				want = RoleAdmin
			} else if need&admin == 0 {
				want = strings.ReplaceAll(want, ", ", " or ") + " (or admin)"
			}
			g.deny(w, r, http.StatusForbidden, ReasonForbidden, e.name,
				fmt.Sprintf("token %q (roles: %s) may not %s %s: needs role %s", e.name, e.roles, r.Method, r.URL.Path, want))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithTokenName(r.Context(), e.name)))
	})
}

// deny answers code with a JSON error, counts and logs the refusal (the
// token's name for a 403; never a token).
func (g *Guard) deny(w http.ResponseWriter, r *http.Request, code int, reason, name, msg string) {
	if g.denied != nil {
		g.denied.WithLabelValues(reason).Inc()
	}
	args := []any{"reason", reason, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr}
	if name != "" {
		args = append(args, "token_name", name)
	}
	g.log.Debug("auth: request refused", args...)
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sift"`)
		httpjson.Error(w, code, "Authorization", msg)
		return
	}
	httpjson.Error(w, code, "", msg)
}

// LoopbackOnly reports whether listen (host:port) accepts connections from
// this machine only: a loopback IP or "localhost". An empty host (all
// interfaces) or any other name is not.
func LoopbackOnly(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
