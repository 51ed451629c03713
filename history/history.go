// Package history keeps every alert state change and incident lifecycle
// event for trend analytics: in ClickHouse when one is configured, else in
// an embedded store under the data directory, with the same answers from
// both. The Recorder is a pipeline output with its own queue and a durable
// spool, so ClickHouse being slow or away never stalls ingest.
package history

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/model"
)

// Config is the `history:` section of the configuration file.
type Config struct {
	ClickHouse *ClickHouseConfig `yaml:"clickhouse"`
	// Dir of the embedded store and of the spool; default DATA_DIR/history.
	Dir string `yaml:"dir"`
	// SpoolMaxBytes bounds the spool of events not yet written (default
	// 1 GiB). Beyond it new events are dropped and counted, and Sift raises
	// an alert of its own.
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
	// BatchSize: events written to the store at a time (default 50,000).
	BatchSize int `yaml:"batch_size"`
	// FlushInterval: how long events wait for a fuller batch (default 1s).
	FlushInterval correlate.Duration `yaml:"flush_interval"`
}

// ClickHouseConfig selects ClickHouse (native protocol) as the store.
type ClickHouseConfig struct {
	Addr        string `yaml:"addr"`     // host:port of the native protocol, e.g. 127.0.0.1:9000
	Database    string `yaml:"database"` // default "sift"; created if missing
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"` // environment variable holding the password
	// DialTimeout and ReadTimeout (defaults 5s and 30s).
	DialTimeout correlate.Duration `yaml:"dial_timeout"`
	ReadTimeout correlate.Duration `yaml:"read_timeout"`
}

// WithDefaults fills in the defaults.
func (c Config) WithDefaults() Config {
	if c.SpoolMaxBytes <= 0 {
		c.SpoolMaxBytes = 1 << 30
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 50_000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = correlate.Duration(time.Second)
	}
	if c.ClickHouse != nil {
		ch := *c.ClickHouse
		if ch.Database == "" {
			ch.Database = "sift"
		}
		if ch.DialTimeout <= 0 {
			ch.DialTimeout = correlate.Duration(5 * time.Second)
		}
		if ch.ReadTimeout <= 0 {
			ch.ReadTimeout = correlate.Duration(30 * time.Second)
		}
		c.ClickHouse = &ch
	}
	return c
}

// Validate reports the first problem of the section.
func (c Config) Validate() error {
	if ch := c.ClickHouse; ch != nil {
		if ch.Addr == "" {
			return errors.New("history.clickhouse.addr: required (host:port of the native protocol, e.g. 127.0.0.1:9000)")
		}
		if !strings.Contains(ch.Addr, ":") {
			return fmt.Errorf("history.clickhouse.addr: %q is not host:port", ch.Addr)
		}
		if ch.Database != "" && !validIdent(ch.Database) {
			return fmt.Errorf("history.clickhouse.database: %q is not a valid name (letters, digits, _)", ch.Database)
		}
		if ch.PasswordEnv != "" && !validEnvName(ch.PasswordEnv) {
			return fmt.Errorf("history.clickhouse.password_env: %q is not the name of an environment variable", ch.PasswordEnv)
		}
	}
	if c.SpoolMaxBytes < 0 {
		return errors.New("history.spool_max_bytes: must not be negative")
	}
	return nil
}

func validEnvName(s string) bool { return validIdent(s) }

// CheckEnv reports a password_env that names an unset variable.
func (c Config) CheckEnv() error {
	if ch := c.ClickHouse; ch != nil && ch.PasswordEnv != "" {
		if _, ok := os.LookupEnv(ch.PasswordEnv); !ok {
			return fmt.Errorf("history.clickhouse.password_env: environment variable %s is not set", ch.PasswordEnv)
		}
	}
	return nil
}

func validIdent(s string) bool {
	for i, r := range s {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			return false
		}
	}
	return s != ""
}

// AlertRow is one row of alert_events.
type AlertRow struct {
	ID            uint64
	Time          time.Time
	Fingerprint   string
	AlertName     string
	Service       string
	Severity      string
	Status        string // firing | resolved
	Kind          string // firing | refired | resolved
	StartsAt      time.Time
	Incident      string
	Team          string
	Priority      string
	Notifications uint32
	Flapping      bool
	LabelKeys     []string
	LabelValues   []string
}

// IncidentRow is one row of incident_events.
type IncidentRow struct {
	ID          uint64
	Time        time.Time
	Incident    string
	Event       string
	Detail      string
	Actor       string
	Fingerprint string
	AlertName   string
	Services    []string
	RootCause   string
	Signature   string
	Title       string
	Severity    string
	Team        string
	Category    string
	Priority    string
	Problem     string
	OpenedAt    time.Time
	AlertCount  uint32
}

// Batch is a set of rows written together.
type Batch struct {
	Alerts    []AlertRow
	Incidents []IncidentRow
	// Check: some rows may be in the store already (a retry, a replay, a
	// backfill run again); the store must skip them.
	Check bool
}

// Len is the number of rows.
func (b *Batch) Len() int { return len(b.Alerts) + len(b.Incidents) }

// Writer writes rows. Write is idempotent per row ID when b.Check is set.
type Writer interface {
	Write(ctx context.Context, b *Batch) error
}

// Store is a history store: it writes rows and answers the primitive
// queries the analytics are computed from (see Analytics).
type Store interface {
	Writer
	// Volume counts, per bucket of q.Step from q.Since (and per key of
	// q.By), alert episodes started (firing and refired events),
	// notifications, and incidents opened, in [q.Since, q.Until).
	Volume(ctx context.Context, q Query) ([]VolumeRow, error)
	// Incidents returns the facts of the incidents opened in [since, until).
	Incidents(ctx context.Context, since, until time.Time) ([]IncidentFact, error)
	// AlertNames returns per alert name with alert rows in [since, until)
	// its episode statistics, and the incidents it opened in that range
	// ("opened" rows with that alert name).
	AlertNames(ctx context.Context, since, until time.Time) ([]NameStat, error)
	// Counts returns the number of rows stored (alert, incident events).
	Counts(ctx context.Context) (alerts, incidents int64, err error)
	Kind() string // "clickhouse" or "embedded"
	Close() error
}

// Dimensions of Query.By.
var Dimensions = []string{"service", "alertname", "team", "priority"}

// Query selects buckets.
type Query struct {
	Since, Until time.Time
	Step         time.Duration
	By           string // "", service, alertname, team, priority
	Key          string // only this key of By (with KeySet)
	KeySet       bool
}

// VolumeRow is one bucket of one key.
type VolumeRow struct {
	T             time.Time
	Key           string
	Alerts        int64 // episodes started
	Notifications int64
	Incidents     int64 // incidents opened
}

// IncidentFact summarises one incident's history.
type IncidentFact struct {
	ID         string
	OpenedAt   time.Time
	AckedAt    time.Time // first acknowledgement; zero if none
	ResolvedAt time.Time // last resolution; zero if none
	Reopened   int
	Team       string // latest non-empty
	Category   string
	Priority   string
	RootCause  string
	AlertName  string // the alert that opened it
	Signature  string
	Problem    string
	Title      string
	AlertCount int
}

// NameStat is what one alert name did in a time range.
type NameStat struct {
	AlertName     string
	Episodes      int64 // firing + refired events
	Refires       int64 // refired events
	Flapping      int64 // episodes that started while flapping
	Notifications int64
	Fingerprints  int64 // distinct alert identities
	Incidents     int64 // incidents it opened (their first alert) in the range
}

// Bucket returns the start of t's bucket of width step (aligned to the Unix
// epoch, as toDateTime(intDiv(toUInt32(t), step) * step) in ClickHouse).
func Bucket(t time.Time, step time.Duration) time.Time {
	s := int64(step / time.Second)
	if s <= 0 {
		s = 1
	}
	u := t.Unix()
	return time.Unix(u-((u%s)+s)%s, 0).UTC()
}

// eventID hashes the identity of an event into a row ID.
func eventID(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0xff})
	}
	return h.Sum64()
}

func timeKey(t time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano()))
	return string(b[:])
}

// AlertRowOf converts an engine alert event; team and priority are those of
// its incident when known.
func AlertRowOf(ev *model.AlertEvent, team, priority string) AlertRow {
	fp := ev.Fingerprint.String()
	r := AlertRow{
		ID:            eventID("a", fp, ev.Kind, timeKey(ev.At)),
		Time:          ev.At.UTC(),
		Fingerprint:   fp,
		AlertName:     ev.Labels["alertname"],
		Service:       ev.Labels["service"],
		Severity:      ev.Labels["severity"],
		Status:        model.StatusFiring,
		Kind:          ev.Kind,
		StartsAt:      ev.StartsAt.UTC(),
		Incident:      ev.Incident,
		Team:          team,
		Priority:      priority,
		Notifications: uint32(max(ev.Notifications, 0)),
		Flapping:      ev.Flapping,
	}
	if ev.Kind == model.AlertResolved {
		r.Status = model.StatusResolved
	}
	r.LabelKeys = make([]string, 0, len(ev.Labels))
	for _, k := range ev.Labels.Names() {
		r.LabelKeys = append(r.LabelKeys, k)
		r.LabelValues = append(r.LabelValues, ev.Labels[k])
	}
	return r
}

// IncidentRowOf converts an engine lifecycle event; c is the incident's
// classification when known.
func IncidentRowOf(ev *model.LifecycleEvent, c *model.Classification) IncidentRow {
	fp := ""
	if ev.Fingerprint != 0 {
		fp = ev.Fingerprint.String()
	}
	r := IncidentRow{
		ID:          eventID("i", ev.Incident, ev.Event, timeKey(ev.At), fp, ev.Detail, ev.Actor),
		Time:        ev.At.UTC(),
		Incident:    ev.Incident,
		Event:       ev.Event,
		Detail:      ev.Detail,
		Actor:       ev.Actor,
		Fingerprint: fp,
		AlertName:   ev.AlertName,
		Services:    ev.Services,
		RootCause:   ev.RootCause,
		Signature:   ev.Signature,
		Title:       ev.Title,
		Severity:    ev.Severity,
		Problem:     ev.Problem,
		OpenedAt:    ev.OpenedAt.UTC(),
		AlertCount:  uint32(max(ev.AlertCount, 0)),
	}
	if ev.Class != nil {
		c = ev.Class
	}
	if c != nil {
		r.Team, r.Category, r.Priority = c.Team, c.Category, c.Priority
	}
	return r
}
