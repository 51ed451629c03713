package notify

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/model"
)

// EventTypes are the incident event types a webhook can ask for.
var EventTypes = []string{model.EventOpened, model.EventUpdated, model.EventClassified, model.EventResolved, model.EventReopened, model.EventSLABreached}

// Defaults of a webhook.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultMaxAttempts   = 10
	DefaultMaxBackoff    = 5 * time.Minute
	DefaultMaxQueueBytes = 256 << 20
)

// Config is the notify: section: where incident events are delivered.
type Config struct {
	Webhooks []Webhook `yaml:"webhooks"`
}

// Webhook is one target: incident events are POSTed to URL as JSON.
type Webhook struct {
	// Name identifies the target in metrics, logs and the API, and names
	// its spool directory (<data_dir>/notify/<name>/).
	Name string `yaml:"name"`
	// URL is the http:// or https:// address to POST to. Userinfo and
	// the query are never shown (API, logs).
	URL string `yaml:"url"`
	// SecretEnv names the environment variable that holds the HMAC
	// secret: each body is signed in X-Sift-Signature. Empty: unsigned.
	SecretEnv string `yaml:"secret_env"`
	// Events are the event types delivered (empty: all).
	Events []string `yaml:"events"`
	// Matchers, all of which an incident must satisfy, in Alertmanager
	// syntax over the incident's fields (see Fields).
	Matchers []string `yaml:"matchers"`
	// Template is a Go text/template file that renders the body (JSON);
	// empty: {"type","at","incident"}.
	Template string `yaml:"template"`
	// Headers are added to each request. A value "${NAME}" is read from
	// the environment variable NAME (for tokens kept out of the file).
	Headers map[string]string `yaml:"headers"`
	// Vars are given to the template as .Vars ("${NAME}" as in Headers).
	Vars map[string]string `yaml:"vars"`
	// Timeout bounds one request (default 10s).
	Timeout correlate.Duration `yaml:"timeout"`
	// MaxAttempts: after this many failed attempts a delivery goes to the
	// dead letter file (default 10).
	MaxAttempts int `yaml:"max_attempts"`
	// MaxBackoff caps the wait between attempts (default 5m).
	MaxBackoff correlate.Duration `yaml:"max_backoff"`
	// MaxQueueBytes bounds what waits in the spool for this target
	// (default 256 MiB); beyond it new deliveries are dropped.
	MaxQueueBytes int64 `yaml:"max_queue_bytes"`
}

// Fields are the incident fields matchers can name.
var Fields = []string{"id", "status", "severity", "team", "category", "priority", "service", "title", "problem"}

var (
	safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	envRef   = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
	hdrName  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// reservedHeaders are set by Sift and cannot be configured.
var reservedHeaders = []string{"Content-Type", "Content-Length", "X-Sift-Signature", "X-Sift-Event", "Idempotency-Key", "Host"}

// Enabled reports whether any webhook is configured.
func (c Config) Enabled() bool { return len(c.Webhooks) > 0 }

// Validate checks c, including that the secrets and "${NAME}" values it
// names are set in the environment and that templates parse and render
// JSON. Errors start with the key path, e.g. "notify.webhooks[1].url: ...".
func (c Config) Validate() error {
	_, err := c.compile()
	return err
}

// WithDefaults returns w with unset fields at their defaults.
func (w Webhook) WithDefaults() Webhook {
	if w.Timeout == 0 {
		w.Timeout = correlate.Duration(DefaultTimeout)
	}
	if w.MaxAttempts == 0 {
		w.MaxAttempts = DefaultMaxAttempts
	}
	if w.MaxBackoff == 0 {
		w.MaxBackoff = correlate.Duration(DefaultMaxBackoff)
	}
	if w.MaxQueueBytes == 0 {
		w.MaxQueueBytes = DefaultMaxQueueBytes
	}
	return w
}

// target is a validated webhook, ready to use.
type target struct {
	Webhook
	secret   []byte
	events   map[string]bool // nil: all
	matchers []*model.Matcher
	tmpl     *template.Template
	headers  map[string]string
	vars     map[string]string
}

func (c Config) compile() ([]*target, error) {
	var out []*target
	seen := map[string]bool{}
	for i, w := range c.Webhooks {
		p := fmt.Sprintf("notify.webhooks[%d]", i)
		t, err := compileWebhook(p, w.WithDefaults())
		if err != nil {
			return nil, err
		}
		if seen[strings.ToLower(t.Name)] {
			return nil, fmt.Errorf("%s.name: %q is used by another webhook (names must be unique)", p, t.Name)
		}
		seen[strings.ToLower(t.Name)] = true
		out = append(out, t)
	}
	return out, nil
}

func compileWebhook(p string, w Webhook) (*target, error) {
	t := &target{Webhook: w}
	switch {
	case w.Name == "":
		return nil, fmt.Errorf("%s.name: required", p)
	case !safeName.MatchString(w.Name):
		return nil, fmt.Errorf("%s.name: %q must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (it names a directory)", p, w.Name)
	}
	if w.URL == "" {
		return nil, fmt.Errorf("%s.url: required", p)
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s.url: %q must be an http:// or https:// URL", p, RedactURL(w.URL))
	}
	if w.SecretEnv != "" {
		if !envName.MatchString(w.SecretEnv) {
			// Never echo the value: it may be the secret itself.
			return nil, fmt.Errorf("%s.secret_env: must be the name of an environment variable holding the secret (letters, digits, _), not the secret itself", p)
		}
		s := os.Getenv(w.SecretEnv)
		if s == "" {
			return nil, fmt.Errorf("%s.secret_env: environment variable %s is not set or empty", p, w.SecretEnv)
		}
		t.secret = []byte(s)
	}
	if len(w.Events) > 0 {
		t.events = map[string]bool{}
		for j, e := range w.Events {
			if !slices.Contains(EventTypes, e) {
				return nil, fmt.Errorf("%s.events[%d]: unknown event %q (want one of %s)", p, j, e, strings.Join(EventTypes, ", "))
			}
			t.events[e] = true
		}
	}
	for j, s := range w.Matchers {
		m, err := model.ParseMatcher(s)
		if err != nil {
			return nil, fmt.Errorf("%s.matchers[%d]: %v", p, j, err)
		}
		if !slices.Contains(Fields, m.Name) {
			return nil, fmt.Errorf("%s.matchers[%d]: %q: unknown field %q (want one of %s)", p, j, s, m.Name, strings.Join(Fields, ", "))
		}
		t.matchers = append(t.matchers, m)
	}
	t.headers = map[string]string{}
	for k, v := range w.Headers {
		if !hdrName.MatchString(k) {
			return nil, fmt.Errorf("%s.headers: %q is not a valid header name", p, k)
		}
		for _, r := range reservedHeaders {
			if strings.EqualFold(k, r) {
				return nil, fmt.Errorf("%s.headers.%s: set by Sift, cannot be configured", p, k)
			}
		}
		v, err := expandEnv(v)
		if err != nil {
			return nil, fmt.Errorf("%s.headers.%s: %v", p, k, err)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("%s.headers.%s: value must not contain a line break", p, k)
		}
		t.headers[k] = v
	}
	t.vars = map[string]string{}
	for k, v := range w.Vars {
		v, err := expandEnv(v)
		if err != nil {
			return nil, fmt.Errorf("%s.vars.%s: %v", p, k, err)
		}
		t.vars[k] = v
	}
	switch {
	case time.Duration(w.Timeout) < 0:
		return nil, fmt.Errorf("%s.timeout: %s must not be negative", p, time.Duration(w.Timeout))
	case w.MaxAttempts < 0:
		return nil, fmt.Errorf("%s.max_attempts: %d must not be negative", p, w.MaxAttempts)
	case time.Duration(w.MaxBackoff) < 0:
		return nil, fmt.Errorf("%s.max_backoff: %s must not be negative", p, time.Duration(w.MaxBackoff))
	case w.MaxQueueBytes < 0:
		return nil, fmt.Errorf("%s.max_queue_bytes: %d must not be negative", p, w.MaxQueueBytes)
	}
	if w.Template != "" {
		tm, err := loadTemplate(w.Template)
		if err != nil {
			return nil, fmt.Errorf("%s.template: %v", p, err)
		}
		t.tmpl = tm
		// A template that does not render JSON for a plain incident is
		// refused now rather than at the first incident.
		ev := sampleEvent()
		if _, err := t.render(ev, IdempotencyKey(t.Name, ev), nil); err != nil {
			return nil, fmt.Errorf("%s.template: %v", p, err)
		}
	}
	return t, nil
}

// expandEnv replaces a whole value "${NAME}" with the environment
// variable NAME, which must be set.
func expandEnv(v string) (string, error) {
	m := envRef.FindStringSubmatch(v)
	if m == nil {
		return v, nil
	}
	s := os.Getenv(m[1])
	if s == "" {
		return "", fmt.Errorf("environment variable %s is not set or empty", m[1])
	}
	return s, nil
}

// RedactURL returns s without userinfo, query and fragment (which may
// carry credentials), for display.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// wants reports whether the target delivers ev.
func (t *target) wants(ev *model.IncidentEvent) bool {
	if t.events != nil && !t.events[ev.Type] {
		return false
	}
	if len(t.matchers) == 0 {
		return true
	}
	return Match(t.matchers, ev.Incident)
}

// Match reports whether inc satisfies all the matchers. Names are the
// incident's fields (Fields). "service" has several values (the
// incident's services and its root cause): = and =~ hold when one of them
// matches, != and !~ when none of them matches the value.
func Match(ms []*model.Matcher, inc *model.Incident) bool {
	if inc == nil {
		return false
	}
	ls := model.LabelSet{"id": inc.ID, "status": inc.Status, "severity": inc.Severity, "title": inc.Title, "problem": inc.Problem}
	if c := inc.Class; c != nil {
		ls["team"], ls["category"], ls["priority"] = c.Team, c.Category, c.Priority
	}
	for _, m := range ms {
		if m.Name != "service" {
			if !m.Matches(ls) {
				return false
			}
			continue
		}
		svcs := services(inc)
		switch m.Type {
		case model.MatchEqual, model.MatchRegexp:
			if !slices.ContainsFunc(svcs, func(s string) bool { return m.Matches(model.LabelSet{"service": s}) }) {
				return false
			}
		default:
			for _, s := range svcs {
				if !m.Matches(model.LabelSet{"service": s}) {
					return false
				}
			}
		}
	}
	return true
}

// services returns the incident's services and root cause ("" if none).
func services(inc *model.Incident) []string {
	out := slices.Clone(inc.Services)
	if r := inc.RootCause.Service; r != "" && !slices.Contains(out, r) {
		out = append(out, r)
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}
