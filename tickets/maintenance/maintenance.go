// Package maintenance turns recurring maintenance windows (configuration)
// into silences: shortly before each occurrence starts, the scheduler
// journals an Alertmanager-style silence for it, with an id derived from
// the window and the occurrence, so that a restart or a second scheduler
// never makes two; silences of windows no longer configured that have not
// started yet are expired.
package maintenance

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // time zones work without the system's database

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/internal/httpjson"
	"github.com/sift-aiops/sift/model"
)

// Window is one recurring maintenance window:
//
//	maintenance:
//	  - name: db-patching
//	    service: db                 # shorthand for the matcher service="db"
//	    matchers: ['env="prod"']    # more matchers (Alertmanager syntax), all must match
//	    days: [sat, sun]            # empty: every day
//	    start: "02:00"              # local time of day in timezone
//	    duration: 2h
//	    timezone: Europe/Paris      # default UTC
//	    comment: monthly OS patching
type Window struct {
	Name     string             `yaml:"name"`
	Service  string             `yaml:"service"`
	Matchers []string           `yaml:"matchers"`
	Days     []string           `yaml:"days"`
	Start    string             `yaml:"start"`
	Duration correlate.Duration `yaml:"duration"`
	Timezone string             `yaml:"timezone"`
	Comment  string             `yaml:"comment"`

	loc    *time.Location
	hour   int
	minute int
	days   map[time.Weekday]bool
	ms     []model.SilenceMatcher
}

// Config is the maintenance: section, a list of windows.
type Config []Window

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// Validate checks the windows and prepares them; the error names the
// setting (maintenance[1].start: ...).
func (c Config) Validate() error {
	seen := map[string]bool{}
	for i := range c {
		w := &c[i]
		at := fmt.Sprintf("maintenance[%d]", i)
		if !nameRE.MatchString(w.Name) {
			return fmt.Errorf("%s.name: %q: use letters, digits, '.', '_' and '-'", at, w.Name)
		}
		if seen[w.Name] {
			return fmt.Errorf("%s.name: %q is used twice", at, w.Name)
		}
		seen[w.Name] = true
		w.ms = nil
		if w.Service != "" {
			w.ms = append(w.ms, model.SilenceMatcher{Name: "service", Value: w.Service})
		}
		for j, s := range w.Matchers {
			m, err := model.ParseMatcher(s)
			if err != nil {
				return fmt.Errorf("%s.matchers[%d]: %v", at, j, err)
			}
			eq := m.Type == model.MatchEqual || m.Type == model.MatchRegexp
			w.ms = append(w.ms, model.SilenceMatcher{Name: m.Name, Value: m.Value, IsRegex: m.Type == model.MatchRegexp || m.Type == model.MatchNotRegexp, IsEqual: &eq})
		}
		if len(w.ms) == 0 {
			return fmt.Errorf("%s: set service or matchers (what the window silences)", at)
		}
		probe := model.Silence{ID: "x", Matchers: w.ms, StartsAt: time.Unix(0, 0), EndsAt: time.Unix(1, 0), CreatedBy: "x"}
		if err := probe.Validate(); err != nil {
			return fmt.Errorf("%s.matchers: %v", at, err)
		}
		var h, m int
		if _, err := fmt.Sscanf(w.Start, "%d:%d", &h, &m); err != nil || h < 0 || h > 23 || m < 0 || m > 59 || len(w.Start) != 5 {
			return fmt.Errorf("%s.start: %q: want a time of day like 02:30", at, w.Start)
		}
		w.hour, w.minute = h, m
		if w.Duration <= 0 {
			return fmt.Errorf("%s.duration: required (e.g. 2h)", at)
		}
		if time.Duration(w.Duration) > 7*24*time.Hour {
			return fmt.Errorf("%s.duration: %s is longer than a week", at, time.Duration(w.Duration))
		}
		tz := w.Timezone
		if tz == "" {
			tz = "UTC"
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return fmt.Errorf("%s.timezone: %q: %v", at, w.Timezone, err)
		}
		w.loc = loc
		w.days = map[time.Weekday]bool{}
		for j, d := range w.Days {
			wd, ok := weekdays[strings.ToLower(d)[:min(3, len(d))]]
			if !ok {
				return fmt.Errorf("%s.days[%d]: %q is not a weekday (mon ... sun)", at, j, d)
			}
			w.days[wd] = true
		}
	}
	return nil
}

// Occurrence is one occurrence of a window.
type Occurrence struct {
	Window string    `json:"window"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// occurrences returns the occurrences of w that overlap [from, to).
func (w *Window) occurrences(from, to time.Time) []Occurrence {
	var out []Occurrence
	d := time.Duration(w.Duration)
	// Start from the day before from (an occurrence may run over midnight
	// or over several days), in the window's time zone.
	day := from.Add(-d).In(w.loc)
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, w.loc)
	for ; day.Before(to); day = day.AddDate(0, 0, 1) {
		if len(w.days) > 0 && !w.days[day.Weekday()] {
			continue
		}
		s := time.Date(day.Year(), day.Month(), day.Day(), w.hour, w.minute, 0, 0, w.loc)
		e := s.Add(d)
		if e.After(from) && s.Before(to) {
			out = append(out, Occurrence{Window: w.Name, Start: s.UTC(), End: e.UTC()})
		}
	}
	return out
}

// SilenceID is the id of the silence of an occurrence: a UUID derived
// from the window name and the start, so that it is made once.
func SilenceID(window string, start time.Time) string {
	h := sha256.Sum256([]byte(window + "\x00" + start.UTC().Format(time.RFC3339)))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Store is where the scheduler finds and journals silences (the pipeline).
type Store interface {
	Silences() []model.Silence
	Silence(id string) *model.Silence
	Act(ctx context.Context, a model.Action) (*model.Incident, error)
}

// Lead is how long before an occurrence its silence is made (it shows as
// pending meanwhile).
const Lead = time.Hour

// Scheduler keeps the silences of the windows.
type Scheduler struct {
	cfg   Config
	store Store
	now   func() time.Time
	log   *slog.Logger
}

// NewScheduler returns a scheduler for a validated configuration.
func NewScheduler(cfg Config, store Store, now func() time.Time, log *slog.Logger) *Scheduler {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{cfg: cfg, store: store, now: now, log: log}
}

// Sync makes the silences of the occurrences that run now or start within
// Lead, and expires the pending silences of windows (or occurrences) no
// longer configured. It returns how many silences it made and expired.
func (s *Scheduler) Sync(ctx context.Context) (made, expired int, err error) {
	now := s.now()
	want := map[string]bool{}
	for i := range s.cfg {
		w := &s.cfg[i]
		for _, o := range w.occurrences(now, now.Add(Lead)) {
			id := SilenceID(w.Name, o.Start)
			want[id] = true
			if s.store.Silence(id) != nil {
				continue
			}
			start := o.Start
			if start.Before(now) {
				start = now // as Alertmanager would: a silence starts at the earliest now
			}
			comment := w.Comment
			if comment == "" {
				comment = "maintenance window " + w.Name
			}
			sl := model.Silence{ID: id, Matchers: w.ms, StartsAt: start, EndsAt: o.End, CreatedBy: "maintenance:" + w.Name,
				Comment: comment, UpdatedAt: now, Maintenance: w.Name}
			if _, err := s.store.Act(ctx, model.Action{At: now, Kind: model.ActionSilence, Silence: &sl, Actor: sl.CreatedBy}); err != nil {
				return made, expired, fmt.Errorf("maintenance %s: %w", w.Name, err)
			}
			made++
			s.log.Info("maintenance window silence", "window", w.Name, "starts", start, "ends", o.End, "silence", id)
		}
	}
	for _, sl := range s.store.Silences() {
		if sl.Maintenance == "" || want[sl.ID] || sl.State(now) != model.SilencePending {
			continue
		}
		if _, err := s.store.Act(ctx, model.Action{At: now, Kind: model.ActionExpireSilence, Value: sl.ID, Actor: "maintenance"}); err != nil {
			return made, expired, err
		}
		expired++
		s.log.Info("maintenance silence expired: its window is no longer configured", "window", sl.Maintenance, "silence", sl.ID)
	}
	return made, expired, nil
}

// Run syncs now and every minute until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if _, _, err := s.Sync(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("maintenance windows", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Register serves GET /api/v1/maintenance: the windows with their next
// occurrences (within a week) and whether one runs now.
func (s *Scheduler) Register(mux httpjson.Mux) {
	mux.HandleFunc("GET /api/v1/maintenance", func(w http.ResponseWriter, r *http.Request) {
		type view struct {
			Name     string                 `json:"name"`
			Matchers []model.SilenceMatcher `json:"matchers"`
			Days     []string               `json:"days,omitempty"`
			Start    string                 `json:"start"`
			Duration string                 `json:"duration"`
			Timezone string                 `json:"timezone"`
			Active   bool                   `json:"active"`
			Next     []Occurrence           `json:"next"`
		}
		now := s.now()
		out := []view{}
		for i := range s.cfg {
			win := &s.cfg[i]
			occ := win.occurrences(now, now.Add(7*24*time.Hour))
			sort.Slice(occ, func(a, b int) bool { return occ[a].Start.Before(occ[b].Start) })
			v := view{Name: win.Name, Matchers: win.ms, Days: win.Days, Start: win.Start, Duration: time.Duration(win.Duration).String(),
				Timezone: win.loc.String(), Next: occ}
			if v.Next == nil {
				v.Next = []Occurrence{}
			}
			v.Active = len(occ) > 0 && !occ[0].Start.After(now)
			out = append(out, v)
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"windows": out})
	})
}
