package auth

import (
	"regexp"
	"strings"
)

// roleSet is a set of roles (bits).
type roleSet uint8

const (
	ingest roleSet = 1 << iota
	agent
	analyst
	admin

	// open marks a route that needs no token at all; anyToken one that
	// needs a valid token whatever its roles.
	open     roleSet = 1 << 6
	anyToken roleSet = 1 << 7

	// read is who may read incidents, problems, alerts, changes and the
	// stream: agents and analysts.
	read = agent | analyst
	// send is who may send alerts, events and changes: the ingest role,
	// and agents (who may do all ingest may).
	send = ingest | agent
)

var roleBits = map[string]roleSet{RoleIngest: ingest, RoleAgent: agent, RoleAnalyst: analyst, RoleAdmin: admin}

var roleNames = []string{RoleIngest, RoleAgent, RoleAnalyst, RoleAdmin}

// String lists the roles ("agent, analyst").
func (s roleSet) String() string {
	var out []string
	for _, n := range roleNames {
		if s&roleBits[n] != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// policy says which roles may use each route, by the pattern the route was
// registered with on the ServeMux (what mux.Handler returns). Wildcards
// match whatever their name ("{id}" and "{incident}" are the same); a
// trailing "/*" covers the path and every path below it. The exact pattern
// wins over "/*" entries, the longest of which wins over the defaults.
//
// admin may use every route; open needs no token; anyToken needs a valid
// token of any role. Routes not listed: GET (HEAD, OPTIONS) needs agent or
// analyst (any role but ingest), anything else admin.
var policy = map[string]roleSet{
	// Health and readiness: probes carry no token.
	"GET /healthz":   open,
	"GET /readyz":    open,
	"GET /-/healthy": open,
	"GET /-/ready":   open,

	// The web console (console/): HTML shells and their CSS and JS hold no
	// data; the pages read everything through the API with the user's token.
	"GET /{$}":              open,
	"GET /incidents/{}":     open,
	"GET /problems":         open,
	"GET /problems/{}":      open,
	"GET /trends":           open,
	"GET /alerts":           open,
	"GET /console/static/*": open,

	// The 404 catch-all: a valid token learns there is no such route.
	"/": anyToken,
	// The API's description (OpenAPI): any valid token may read it.
	"GET /api/v1/openapi.json": anyToken,

	// Senders: Prometheus, Alertmanager, event and change feeds.
	"POST /api/v2/alerts":     send,
	"POST /api/v1/alerts":     send,
	"POST /api/v1/events":     send,
	"POST /api/v1/webhooks/*": send, // /api/v1/webhooks/alertmanager and any other webhook receiver
	"POST /api/v1/changes/*":  send, // /api/v1/changes, /api/v1/changes/github

	// Reading: agents and analysts.
	"GET /api/v1/incidents/*": read, // list, detail, explain
	"GET /api/v1/problems/*":  read,
	"GET /api/v1/alertnames":  read,
	"GET /api/v2/alerts":      read,
	"GET /api/v1/alerts/*":    read,
	"GET /api/v1/changes/*":   read,
	"GET /api/v1/stream/*":    read,

	// Reading that only agents need.
	"GET /api/v1/incidents/{}/triage": agent, // the LLM's prompts and answers
	"GET /api/v1/knowledge/*":         agent,
	"GET /api/v2/silences":            agent,
	"GET /api/v2/silence/*":           agent,
	"GET /api/v1/notify/*":            agent,

	// Acting: agents.
	"POST /api/v1/incidents/{}/*":   agent, // ack, assign, resolve, note, classify, draft-article...
	"DELETE /api/v1/incidents/{}/*": agent,
	"POST /api/v2/silences":         agent,
	"DELETE /api/v2/silence/{}":     agent,
	"POST /api/v1/knowledge/*":      agent, // knowledge drafts

	// Analytics: analysts.
	"GET /api/v1/analytics/*": analyst,

	// Operations: admin only.
	"GET /metrics":       admin,
	"GET /debug/pprof/*": admin,
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// normalize turns a pattern's wildcards into "{}" ("{...}" for a rest
// wildcard; "{$}" stays).
func normalize(path string) string {
	return wildcard.ReplaceAllStringFunc(path, func(w string) string {
		switch {
		case w == "{$}":
			return w
		case strings.HasSuffix(w, "...}"):
			return "{...}"
		}
		return "{}"
	})
}

// readMethod reports whether m only reads.
func readMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "OPTIONS" }

// required returns the roles the route registered as pattern needs for a
// request with method (used when the pattern has none). An empty pattern
// (no route: a redirect, 404 or 405 from the mux) needs a valid token.
func required(pattern, method string) roleSet {
	if pattern == "" {
		return anyToken
	}
	if rs, ok := policy[pattern]; ok && !strings.ContainsRune(pattern, '{') {
		return rs
	}
	pm, path := "", pattern
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		pm, path = pattern[:i], strings.TrimLeft(pattern[i+1:], " \t")
	}
	if i := strings.IndexByte(path, '/'); i > 0 {
		path = path[i:] // host-specific pattern: the path decides
	}
	path = normalize(path)
	if pm == "" {
		if rs, ok := policy[path]; ok { // an entry for every method
			return rs
		}
		pm = method
	}
	if pm == "HEAD" {
		pm = "GET"
	}
	if rs, ok := policy[pm+" "+path]; ok {
		return rs
	}
	best, bestLen := roleSet(0), -1
	for k, rs := range policy {
		m, p, ok := strings.Cut(k, " ")
		if !ok || m != pm || !strings.HasSuffix(p, "/*") {
			continue
		}
		dir := strings.TrimSuffix(p, "/*")
		if (path == dir || strings.HasPrefix(path, dir+"/")) && len(dir) > bestLen {
			best, bestLen = rs, len(dir)
		}
	}
	if bestLen >= 0 {
		return best
	}
	if readMethod(pm) {
		return read
	}
	return admin
}
