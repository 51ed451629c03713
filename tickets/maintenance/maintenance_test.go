package maintenance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/model"
	"github.com/sift-aiops/sift/pipeline"
)

func windows(t *testing.T, ws ...Window) Config {
	t.Helper()
	c := Config(ws)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSchedulerMakesOneSilencePerOccurrence(t *testing.T) {
	clock := time.Date(2026, 12, 5, 0, 40, 0, 0, time.UTC) // a Saturday, 01:40 in Paris
	p, err := pipeline.Open(pipeline.Options{DataDir: t.TempDir(), NoSync: true, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cfg := windows(t,
		Window{Name: "db-patching", Service: "db", Matchers: []string{`env="prod"`}, Days: []string{"sat", "Sunday"}, Start: "02:00",
			Duration: correlate.Duration(2 * time.Hour), Timezone: "Europe/Paris"},
		Window{Name: "weekdays", Service: "batch", Days: []string{"mon"}, Start: "03:00", Duration: correlate.Duration(time.Hour)},
	)
	s := NewScheduler(cfg, p, func() time.Time { return clock }, nil)
	ctx := context.Background()
	made, expired, err := s.Sync(ctx)
	if err != nil || made != 1 || expired != 0 {
		t.Fatalf("first sync: made %d expired %d err %v", made, expired, err)
	}
	sils := p.Silences()
	if len(sils) != 1 {
		t.Fatalf("silences: %+v", sils)
	}
	sl := sils[0]
	wantStart := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC) // 02:00 Paris (UTC+1)
	if sl.ID != SilenceID("db-patching", wantStart) || !sl.StartsAt.Equal(wantStart) || !sl.EndsAt.Equal(wantStart.Add(2*time.Hour)) ||
		sl.Maintenance != "db-patching" || sl.MatcherString() != `{service="db", env="prod"}` || sl.State(clock) != model.SilencePending {
		t.Fatalf("silence: %+v", sl)
	}
	if made, _, _ := s.Sync(ctx); made != 0 {
		t.Fatalf("second sync made %d more", made)
	}

	// During the window a db alert is held; others are not.
	clock = wantStart.Add(10 * time.Minute)
	for _, svc := range []string{"db", "web"} {
		b := model.Batch{At: clock, Alerts: []model.Alert{{Labels: model.LabelSet{"alertname": "Down", "service": svc, "env": "prod"}, StartsAt: clock}}}
		if err := p.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	p.View(func(e *correlate.Engine) {
		all := e.All()
		if len(all) != 1 || all[0].Services[0] != "web" {
			t.Fatalf("incidents during maintenance: %+v", all)
		}
	})

	// Sunday's occurrence comes within the lead on Saturday night; when the
	// window is dropped from the configuration its pending silence goes.
	clock = time.Date(2026, 12, 6, 0, 30, 0, 0, time.UTC)
	if made, _, _ := s.Sync(ctx); made != 1 {
		t.Fatalf("sunday: made %d", made)
	}
	s2 := NewScheduler(windows(t, cfg[1]), p, func() time.Time { return clock }, nil)
	if made, expired, err := s2.Sync(ctx); made != 0 || expired != 1 || err != nil {
		t.Fatalf("after dropping the window: made %d expired %d err %v", made, expired, err)
	}
}

func TestWindowValidation(t *testing.T) {
	h := correlate.Duration(time.Hour)
	for _, c := range []struct {
		w    Window
		want string
	}{
		{Window{Name: "a b", Service: "db", Start: "02:00", Duration: h}, "maintenance[0].name"},
		{Window{Name: "a", Start: "02:00", Duration: h}, "set service or matchers"},
		{Window{Name: "a", Service: "db", Start: "2am", Duration: h}, "maintenance[0].start"},
		{Window{Name: "a", Service: "db", Start: "02:00"}, "maintenance[0].duration"},
		{Window{Name: "a", Service: "db", Start: "02:00", Duration: h, Timezone: "Mars/Olympus"}, "maintenance[0].timezone"},
		{Window{Name: "a", Service: "db", Start: "02:00", Duration: h, Days: []string{"someday"}}, "maintenance[0].days[0]"},
		{Window{Name: "a", Matchers: []string{`x=~".*"`}, Start: "02:00", Duration: h}, "must not match the empty string"},
		{Window{Name: "a", Matchers: []string{`x=~"("`}, Start: "02:00", Duration: h}, "maintenance[0].matchers[0]"},
	} {
		err := Config{c.w}.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.w, err, c.want)
		}
	}
}
