// Package auth is Sift's access control: API tokens with roles, checked on
// every HTTP request against one policy table (policy.go), and the optional
// TLS of the listener.
//
//	auth:
//	  tokens:
//	    - name: prometheus          # shown in incident timelines
//	      token_env: SIFT_TOKEN_PROM # the token itself is in this variable
//	      roles: [ingest]
//	tls:
//	  cert_file: /etc/sift/tls.crt
//	  key_file: /etc/sift/tls.key
//
// With no tokens Sift is open, as before (meant for a loopback address).
// With tokens every endpoint but health and readiness needs
// "Authorization: Bearer <token>": 401 without a token or with a wrong one,
// 403 when the token's roles do not allow the route. Tokens are read from
// their environment variables once, at start; they are compared in
// constant time and never logged.
package auth

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"unicode"
)

// Roles.
const (
	RoleIngest  = "ingest"  // post alerts, events and changes
	RoleAgent   = "agent"   // ingest, plus read and act on incidents and silences
	RoleAnalyst = "analyst" // read incidents, alerts, changes and analytics
	RoleAdmin   = "admin"   // everything, including /metrics and /debug/pprof/
)

// Config is the auth: section.
type Config struct {
	Tokens []Token `yaml:"tokens"`
}

// Token is one API token. The secret itself is never in the file: it is
// read from the environment variable TokenEnv when Sift starts.
type Token struct {
	// Name identifies the token in logs, errors and incident timelines.
	Name string `yaml:"name"`
	// TokenEnv names the environment variable that holds the token.
	TokenEnv string `yaml:"token_env"`
	// Roles: ingest, agent, analyst, admin; several give their union.
	Roles []string `yaml:"roles"`
}

// Enabled reports whether access control is on (at least one token).
func (c Config) Enabled() bool { return len(c.Tokens) > 0 }

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// getenv reads the token variables (a variable for tests).
var getenv = os.Getenv

// Validate checks the section, including that every token variable is set
// (an empty one is an error at start, not an open door). Errors name the
// field ("auth.tokens[0].token_env: ...") and never the token.
func (c Config) Validate() error {
	_, err := c.load()
	return err
}

// loaded is a token read from its variable.
type loaded struct {
	name   string
	secret string
	roles  roleSet
}

func (c Config) load() ([]loaded, error) {
	out := make([]loaded, 0, len(c.Tokens))
	names := map[string]int{}
	envs := map[string]int{}
	for i, t := range c.Tokens {
		f := fmt.Sprintf("auth.tokens[%d]", i)
		name := strings.TrimSpace(t.Name)
		switch {
		case name == "":
			return nil, fmt.Errorf("%s.name: missing (it names the token in logs and incident timelines)", f)
		case strings.IndexFunc(name, unicode.IsControl) >= 0 || len(name) > 128:
			return nil, fmt.Errorf("%s.name: must be printable and at most 128 bytes", f)
		}
		if j, dup := names[name]; dup {
			return nil, fmt.Errorf("%s.name: duplicate name %q (also auth.tokens[%d])", f, name, j)
		}
		names[name] = i
		env := strings.TrimSpace(t.TokenEnv)
		switch {
		case env == "":
			return nil, fmt.Errorf("%s.token_env: missing: name the environment variable that holds the token", f)
		case !envName.MatchString(env):
			// Never echo it: it may be the token itself, pasted by mistake.
			return nil, fmt.Errorf("%s.token_env: must be the name of an environment variable (letters, digits, _), not the token itself", f)
		}
		if j, dup := envs[env]; dup {
			return nil, fmt.Errorf("%s.token_env: %s is also the variable of auth.tokens[%d]: each token needs its own", f, env, j)
		}
		envs[env] = i
		if len(t.Roles) == 0 {
			return nil, fmt.Errorf("%s.roles: missing: give at least one of %s", f, strings.Join(roleNames, ", "))
		}
		var rs roleSet
		for k, r := range t.Roles {
			bit, ok := roleBits[strings.TrimSpace(r)]
			if !ok {
				return nil, fmt.Errorf("%s.roles[%d]: unknown role %q (use %s)", f, k, r, strings.Join(roleNames, ", "))
			}
			rs |= bit
		}
		secret := strings.TrimSpace(getenv(env))
		switch {
		case secret == "":
			return nil, fmt.Errorf("%s.token_env: environment variable %s is empty or unset", f, env)
		case strings.IndexFunc(secret, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
			return nil, fmt.Errorf("%s.token_env: the token in %s contains spaces or control characters; it cannot travel in an Authorization header", f, env)
		}
		for j, o := range out {
			if o.secret == secret {
				return nil, fmt.Errorf("%s.token_env: %s holds the same token as auth.tokens[%d]: each token must be distinct", f, env, j)
			}
		}
		out = append(out, loaded{name: name, secret: secret, roles: rs})
	}
	return out, nil
}

// TLS is the tls: section: serve HTTPS with this certificate and key (PEM),
// both or neither.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether HTTPS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Validate checks that both files are given and form a key pair.
func (t TLS) Validate() error {
	switch {
	case t.CertFile == "" && t.KeyFile == "":
		return nil
	case t.CertFile == "":
		return errors.New("tls.cert_file: missing (tls.key_file is set; give both or neither)")
	case t.KeyFile == "":
		return errors.New("tls.key_file: missing (tls.cert_file is set; give both or neither)")
	}
	for _, f := range []struct{ field, path string }{{"tls.cert_file", t.CertFile}, {"tls.key_file", t.KeyFile}} {
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("%s: %v", f.field, err)
		}
	}
	if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		return fmt.Errorf("tls.cert_file: %s and %s are not a usable certificate and key: %v", t.CertFile, t.KeyFile, err)
	}
	return nil
}
