package history

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/sift-aiops/sift/history/forecast"
)

// Analytics answers the trend questions from a Store's primitive queries;
// the computation is the same Go code for every store, so ClickHouse and
// the embedded store give the same answers.
type Analytics struct {
	Store Store
}

// VolumePoint is one bucket of a volume series.
type VolumePoint struct {
	T         time.Time `json:"t"`
	Alerts    int64     `json:"alerts"`
	Incidents int64     `json:"incidents"`
}

// Series is the volume of one key.
type Series struct {
	Key    string        `json:"key"`
	Points []VolumePoint `json:"points"`
}

// VolumeResult is the answer of /api/v1/analytics/volume.
type VolumeResult struct {
	Series []Series `json:"series"`
}

// MaxBuckets bounds the buckets of one answer.
const MaxBuckets = 10_000

func checkRange(since, until time.Time, step time.Duration) error {
	if !until.After(since) {
		return badInput("until (%s) must be after since (%s)", until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	if step < time.Second {
		return badInput("step must be at least 1s")
	}
	if n := until.Sub(since) / step; n > MaxBuckets {
		return badInput("step %s gives %d buckets between since and until; at most %d", step, n, MaxBuckets)
	}
	return nil
}

// buckets returns the bucket starts covering [since, until).
func buckets(since, until time.Time, step time.Duration) []time.Time {
	var out []time.Time
	for t := Bucket(since, step); t.Before(until); t = t.Add(step) {
		out = append(out, t)
	}
	return out
}

// bucketIndex returns the index in bs (consecutive buckets of width step)
// of the bucket starting at t.
func bucketIndex(bs []time.Time, step time.Duration, t time.Time) (int, bool) {
	if len(bs) == 0 || t.Before(bs[0]) {
		return 0, false
	}
	i := int(t.Sub(bs[0]) / step)
	return i, i < len(bs) && bs[i].Equal(t)
}

// Volume returns alert episodes started and incidents opened per bucket,
// one series per key of by (one series with key "" without by), the
// limit largest keys (by alerts then incidents; 0: all).
func (a *Analytics) Volume(ctx context.Context, since, until time.Time, step time.Duration, by string, limit int) (*VolumeResult, error) {
	if err := checkRange(since, until, step); err != nil {
		return nil, err
	}
	q := Query{Since: since, Until: until, Step: step, By: by}
	var rows []VolumeRow
	var err error
	if vr, ok := a.Store.(volumeRanker); ok && by != "" && limit > 0 {
		rows, err = vr.VolumeTop(ctx, q, limit)
	} else {
		rows, err = a.Store.Volume(ctx, q)
	}
	if err != nil {
		return nil, err
	}
	bs := buckets(since, until, step)
	empty := func() []VolumePoint {
		ps := make([]VolumePoint, len(bs))
		for i, t := range bs {
			ps[i].T = t
		}
		return ps
	}
	byKey := map[string][]VolumePoint{}
	tot := map[string][2]int64{}
	if by == "" {
		byKey[""] = empty()
	}
	for _, r := range rows {
		ps := byKey[r.Key]
		if ps == nil {
			ps = empty()
			byKey[r.Key] = ps
		}
		i, ok := bucketIndex(bs, step, r.T)
		if !ok {
			continue
		}
		ps[i].Alerts += r.Alerts
		ps[i].Incidents += r.Incidents
		t := tot[r.Key]
		tot[r.Key] = [2]int64{t[0] + r.Alerts, t[1] + r.Incidents}
	}
	out := &VolumeResult{Series: []Series{}}
	for k, ps := range byKey {
		out.Series = append(out.Series, Series{Key: k, Points: ps})
	}
	sort.Slice(out.Series, func(i, j int) bool {
		ti, tj := tot[out.Series[i].Key], tot[out.Series[j].Key]
		if ti != tj {
			return ti[0] > tj[0] || ti[0] == tj[0] && ti[1] > tj[1]
		}
		return out.Series[i].Key < out.Series[j].Key
	})
	if limit > 0 && len(out.Series) > limit {
		out.Series = out.Series[:limit]
	}
	return out, nil
}

// Stats summarises durations in seconds.
type Stats struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// statsOf returns the statistics of xs (nearest-rank percentiles).
func statsOf(xs []float64) Stats {
	if len(xs) == 0 {
		return Stats{}
	}
	sort.Float64s(xs)
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(xs)))) - 1
		return xs[min(max(i, 0), len(xs)-1)]
	}
	return Stats{Count: len(xs), Mean: round3(sum / float64(len(xs))), P50: rank(0.5), P90: rank(0.9), P99: rank(0.99), Max: xs[len(xs)-1]}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// ResponseGroup is MTTA and MTTR of one group of incidents.
type ResponseGroup struct {
	Team         string `json:"team"`
	Priority     string `json:"priority"`
	Incidents    int    `json:"incidents"`
	Acknowledged int    `json:"acknowledged"`
	Resolved     int    `json:"resolved"`
	MTTA         Stats  `json:"mtta"` // seconds from opened to first acknowledgement
	MTTR         Stats  `json:"mttr"` // seconds from opened to resolution
}

// ResponseResult is the answer of /api/v1/analytics/response.
type ResponseResult struct {
	By     string          `json:"by"`
	Groups []ResponseGroup `json:"groups"`
	Total  ResponseGroup   `json:"total"`
}

// volumeRanker is implemented by stores that rank the keys of a volume
// query themselves (ClickHouse): VolumeTop returns the rows of Volume(q)
// of the limit keys Volume would keep (most alerts, then incidents, then
// the smallest key) and no other.
type volumeRanker interface {
	VolumeTop(ctx context.Context, q Query, limit int) ([]VolumeRow, error)
}

// responseAcc is what Response needs of a group of incidents: their
// number and the seconds from opening to first acknowledgement and to
// resolution (of those acknowledged, resolved, not before opening).
type responseAcc struct {
	n        int
	tta, ttr []float64
}

// SignatureCounts is what Emerging needs of the incidents of a signature:
// those opened before and after the split, and the title and root cause
// of the latest (by opening time, then incident id).
type SignatureCounts struct {
	Recent, Baseline int
	Title, RootCause string
}

// factSummarizer is implemented by stores that summarise the facts of the
// incidents opened in [since, until) themselves, as the Go code of
// Response, Problems and Emerging would from Incidents, instead of
// returning every incident (ClickHouse: a GROUP BY on incident_facts).
// The answers are the same.
type factSummarizer interface {
	// ResponseSummary groups by (team, ""), ("", priority) or (team,
	// priority) as by is "team", "priority" or "team,priority".
	ResponseSummary(ctx context.Context, since, until time.Time, by string) (map[[2]string]*responseAcc, error)
	// ProblemSummary: per problem, the row without MTTR and the times to
	// resolve.
	ProblemSummary(ctx context.Context, since, until time.Time) (map[string]*ProblemRow, map[string][]float64, error)
	// SignatureSummary: per non-empty signature, incidents opened before
	// split (Baseline) and from it (Recent).
	SignatureSummary(ctx context.Context, since, until, split time.Time) (map[string]*SignatureCounts, error)
}

// Response returns MTTA and MTTR of the incidents opened in [since, until),
// grouped by team, priority or both ("team,priority").
func (a *Analytics) Response(ctx context.Context, since, until time.Time, by string) (*ResponseResult, error) {
	if !until.After(since) {
		return nil, badInput("until must be after since")
	}
	var keyOf func(f *IncidentFact) [2]string
	switch by {
	case "", "team":
		by = "team"
		keyOf = func(f *IncidentFact) [2]string { return [2]string{f.Team, ""} }
	case "priority":
		keyOf = func(f *IncidentFact) [2]string { return [2]string{"", f.Priority} }
	case "team,priority":
		keyOf = func(f *IncidentFact) [2]string { return [2]string{f.Team, f.Priority} }
	default:
		return nil, badInput("by: %q is not one of team, priority, team,priority", by)
	}
	var groups map[[2]string]*responseAcc
	if fs, ok := a.Store.(factSummarizer); ok {
		var err error
		if groups, err = fs.ResponseSummary(ctx, since, until, by); err != nil {
			return nil, err
		}
	} else {
		facts, err := a.Store.Incidents(ctx, since, until)
		if err != nil {
			return nil, err
		}
		groups = map[[2]string]*responseAcc{}
		for i := range facts {
			f := &facts[i]
			k := keyOf(f)
			g := groups[k]
			if g == nil {
				g = &responseAcc{}
				groups[k] = g
			}
			g.n++
			if !f.AckedAt.IsZero() && !f.AckedAt.Before(f.OpenedAt) {
				g.tta = append(g.tta, f.AckedAt.Sub(f.OpenedAt).Seconds())
			}
			if !f.ResolvedAt.IsZero() && !f.ResolvedAt.Before(f.OpenedAt) {
				g.ttr = append(g.ttr, f.ResolvedAt.Sub(f.OpenedAt).Seconds())
			}
		}
	}
	all := &responseAcc{}
	for _, g := range groups {
		all.n += g.n
		all.tta = append(all.tta, g.tta...)
		all.ttr = append(all.ttr, g.ttr...)
	}
	res := &ResponseResult{By: by, Groups: []ResponseGroup{}}
	mk := func(k [2]string, x *responseAcc) ResponseGroup {
		return ResponseGroup{Team: k[0], Priority: k[1], Incidents: x.n, Acknowledged: len(x.tta), Resolved: len(x.ttr),
			MTTA: statsOf(x.tta), MTTR: statsOf(x.ttr)}
	}
	for k, g := range groups {
		res.Groups = append(res.Groups, mk(k, g))
	}
	sort.Slice(res.Groups, func(i, j int) bool {
		gi, gj := res.Groups[i], res.Groups[j]
		if gi.Team != gj.Team {
			return gi.Team < gj.Team
		}
		return gi.Priority < gj.Priority
	})
	res.Total = mk([2]string{}, all)
	return res, nil
}

// NoisePoint is one bucket of noise reduction.
type NoisePoint struct {
	T             time.Time `json:"t"`
	Notifications int64     `json:"notifications"`
	Alerts        int64     `json:"alerts"`
	Incidents     int64     `json:"incidents"`
	// Reduction is 1 - incidents/notifications: the share of what came in
	// that nobody had to look at separately (0 with no notification).
	Reduction float64 `json:"reduction"`
	// Compression is alerts per incident (0 with no incident).
	Compression float64 `json:"compression"`
}

// NoiseResult is the answer of /api/v1/analytics/noise.
type NoiseResult struct {
	Points []NoisePoint `json:"points"`
	Total  NoisePoint   `json:"total"`
}

func noisePoint(p *NoisePoint) {
	if p.Notifications > 0 {
		p.Reduction = round3(1 - float64(p.Incidents)/float64(p.Notifications))
	}
	if p.Incidents > 0 {
		p.Compression = round3(float64(p.Alerts) / float64(p.Incidents))
	}
}

// Noise returns notifications and alert episodes in, incidents out, per bucket.
func (a *Analytics) Noise(ctx context.Context, since, until time.Time, step time.Duration) (*NoiseResult, error) {
	if err := checkRange(since, until, step); err != nil {
		return nil, err
	}
	rows, err := a.Store.Volume(ctx, Query{Since: since, Until: until, Step: step})
	if err != nil {
		return nil, err
	}
	bs := buckets(since, until, step)
	res := &NoiseResult{Points: make([]NoisePoint, len(bs))}
	for i, t := range bs {
		res.Points[i].T = t
	}
	for _, r := range rows {
		i, ok := bucketIndex(bs, step, r.T)
		if !ok {
			continue
		}
		p := &res.Points[i]
		p.Notifications += r.Notifications
		p.Alerts += r.Alerts
		p.Incidents += r.Incidents
		res.Total.Notifications += r.Notifications
		res.Total.Alerts += r.Alerts
		res.Total.Incidents += r.Incidents
	}
	for i := range res.Points {
		noisePoint(&res.Points[i])
	}
	res.Total.T = Bucket(since, step)
	noisePoint(&res.Total)
	return res, nil
}

// NameRow is one alert name of the noisy / flapping tops.
type NameRow struct {
	AlertName     string `json:"alertname"`
	Episodes      int64  `json:"episodes"`
	Notifications int64  `json:"notifications"`
	Fingerprints  int64  `json:"fingerprints"`
	Incidents     int64  `json:"incidents"` // incidents it opened (their first alert)
	Refires       int64  `json:"refires"`
	Flapping      int64  `json:"flapping"`
}

// TopResult is the answer of /api/v1/analytics/noisy and /flapping.
type TopResult struct {
	AlertNames []NameRow `json:"alertnames"`
}

// Top returns the noisiest alert names (most episodes) or, with flapping,
// those that fired again most (refires, then flapping episodes).
func (a *Analytics) Top(ctx context.Context, since, until time.Time, flapping bool, limit int) (*TopResult, error) {
	if !until.After(since) {
		return nil, badInput("until must be after since")
	}
	ns, err := a.Store.AlertNames(ctx, since, until)
	if err != nil {
		return nil, err
	}
	rows := make([]NameRow, 0, len(ns))
	for _, n := range ns {
		if flapping && n.Refires == 0 && n.Flapping == 0 {
			continue
		}
		rows = append(rows, NameRow{AlertName: n.AlertName, Episodes: n.Episodes, Notifications: n.Notifications,
			Fingerprints: n.Fingerprints, Incidents: n.Incidents, Refires: n.Refires, Flapping: n.Flapping})
	}
	if flapping {
		sort.SliceStable(rows, func(i, j int) bool {
			if rows[i].Refires != rows[j].Refires {
				return rows[i].Refires > rows[j].Refires
			}
			if rows[i].Flapping != rows[j].Flapping {
				return rows[i].Flapping > rows[j].Flapping
			}
			return rows[i].AlertName < rows[j].AlertName
		})
	}
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	return &TopResult{AlertNames: rows}, nil
}

// ProblemRow is one recurring problem.
type ProblemRow struct {
	Problem   string    `json:"problem"`
	Signature string    `json:"signature"`
	Title     string    `json:"title"`
	RootCause string    `json:"rootCause"`
	Incidents int       `json:"incidents"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	MTTR      Stats     `json:"mttr"`
}

// ProblemsResult is the answer of /api/v1/analytics/problems.
type ProblemsResult struct {
	Problems []ProblemRow `json:"problems"`
}

// Problems returns the problems (recurring incidents) of the incidents
// opened in [since, until), most incidents first.
func (a *Analytics) Problems(ctx context.Context, since, until time.Time, limit int) (*ProblemsResult, error) {
	if !until.After(since) {
		return nil, badInput("until must be after since")
	}
	var m map[string]*ProblemRow
	var ttr map[string][]float64
	if fs, ok := a.Store.(factSummarizer); ok {
		var err error
		if m, ttr, err = fs.ProblemSummary(ctx, since, until); err != nil {
			return nil, err
		}
	} else {
		facts, err := a.Store.Incidents(ctx, since, until)
		if err != nil {
			return nil, err
		}
		m, ttr = map[string]*ProblemRow{}, map[string][]float64{}
		for i := range facts {
			f := &facts[i]
			if f.Problem == "" {
				continue
			}
			p := m[f.Problem]
			if p == nil {
				p = &ProblemRow{Problem: f.Problem, FirstSeen: f.OpenedAt}
				m[f.Problem] = p
			}
			p.Incidents++
			if f.OpenedAt.Before(p.FirstSeen) {
				p.FirstSeen = f.OpenedAt
			}
			if !f.OpenedAt.Before(p.LastSeen) {
				p.LastSeen = f.OpenedAt
				p.Signature, p.Title, p.RootCause = f.Signature, f.Title, f.RootCause
			}
			if !f.ResolvedAt.IsZero() && !f.ResolvedAt.Before(f.OpenedAt) {
				ttr[f.Problem] = append(ttr[f.Problem], f.ResolvedAt.Sub(f.OpenedAt).Seconds())
			}
		}
	}
	res := &ProblemsResult{Problems: []ProblemRow{}}
	for id, p := range m {
		p.MTTR = statsOf(ttr[id])
		res.Problems = append(res.Problems, *p)
	}
	sort.Slice(res.Problems, func(i, j int) bool {
		pi, pj := res.Problems[i], res.Problems[j]
		if pi.Incidents != pj.Incidents {
			return pi.Incidents > pj.Incidents
		}
		return pi.Problem < pj.Problem
	})
	if limit > 0 && len(res.Problems) > limit {
		res.Problems = res.Problems[:limit]
	}
	return res, nil
}

// EmergingRow is a signature whose recurrence is rising.
type EmergingRow struct {
	Signature string  `json:"signature"`
	Title     string  `json:"title"`
	RootCause string  `json:"rootCause"`
	Recent    int     `json:"recent"`   // incidents in the recent window
	Baseline  int     `json:"baseline"` // incidents in the baseline window before it
	Expected  float64 `json:"expected"` // baseline scaled to the recent window
	Ratio     float64 `json:"ratio"`    // (recent+1)/(expected+1)
	Score     float64 `json:"score"`    // (recent-expected)/sqrt(expected+1)
	New       bool    `json:"new"`      // not seen in the baseline window
}

// EmergingResult is the answer of /api/v1/analytics/emerging.
type EmergingResult struct {
	Window   string        `json:"window"`
	Baseline string        `json:"baseline"`
	Until    time.Time     `json:"until"`
	Rising   []EmergingRow `json:"signatures"`
}

// signatureCounts counts, per signature, the incidents of facts opened
// before split (Baseline) and since (Recent), with the title and root
// cause of the latest: what factSummarizer.SignatureSummary computes in
// the store.
func signatureCounts(facts []IncidentFact, split time.Time) map[string]*SignatureCounts {
	m := map[string]*SignatureCounts{}
	last := map[string]*IncidentFact{}
	for i := range facts {
		f := &facts[i]
		if f.Signature == "" {
			continue
		}
		x := m[f.Signature]
		if x == nil {
			x = &SignatureCounts{}
			m[f.Signature] = x
		}
		if f.OpenedAt.Before(split) {
			x.Baseline++
		} else {
			x.Recent++
		}
		if l := last[f.Signature]; l == nil || !f.OpenedAt.Before(l.OpenedAt) {
			last[f.Signature] = f
			x.Title, x.RootCause = f.Title, f.RootCause
		}
	}
	return m
}

// Emerging compares, per incident signature, the incidents of the last
// window before until with the rate of the baseline window before that,
// and returns those that recur clearly more often now (at least minCount
// incidents, ratio >= 2 and score >= 2), most rising first.
func (a *Analytics) Emerging(ctx context.Context, until time.Time, window, baseline time.Duration, minCount, limit int) (*EmergingResult, error) {
	if window <= 0 || baseline <= 0 {
		return nil, badInput("window and baseline must be positive")
	}
	if minCount <= 0 {
		minCount = 2
	}
	split := until.Add(-window)
	var m map[string]*SignatureCounts
	if fs, ok := a.Store.(factSummarizer); ok {
		var err error
		if m, err = fs.SignatureSummary(ctx, split.Add(-baseline), until, split); err != nil {
			return nil, err
		}
	} else {
		facts, err := a.Store.Incidents(ctx, split.Add(-baseline), until)
		if err != nil {
			return nil, err
		}
		m = signatureCounts(facts, split)
	}
	res := &EmergingResult{Window: window.String(), Baseline: baseline.String(), Until: until.UTC(), Rising: []EmergingRow{}}
	scale := float64(window) / float64(baseline)
	for sig, x := range m {
		exp := float64(x.Baseline) * scale
		r := EmergingRow{Signature: sig, Title: x.Title, RootCause: x.RootCause, Recent: x.Recent, Baseline: x.Baseline,
			Expected: round3(exp), Ratio: round3((float64(x.Recent) + 1) / (exp + 1)),
			Score: round3((float64(x.Recent) - exp) / math.Sqrt(exp+1)), New: x.Baseline == 0}
		if r.Recent >= minCount && r.Ratio >= 2 && r.Score >= 2 {
			res.Rising = append(res.Rising, r)
		}
	}
	sort.Slice(res.Rising, func(i, j int) bool {
		if res.Rising[i].Score != res.Rising[j].Score {
			return res.Rising[i].Score > res.Rising[j].Score
		}
		return res.Rising[i].Signature < res.Rising[j].Signature
	})
	if limit > 0 && len(res.Rising) > limit {
		res.Rising = res.Rising[:limit]
	}
	return res, nil
}

// ForecastPoint is one bucket of a forecast answer.
type ForecastPoint struct {
	T        time.Time `json:"t"`
	Expected float64   `json:"expected"`
	Lower    float64   `json:"lower"`
	Upper    float64   `json:"upper"`
	Actual   *float64  `json:"actual,omitempty"` // past buckets only
	Anomaly  bool      `json:"anomaly,omitempty"`
}

// ForecastResult is the answer of /api/v1/analytics/forecast.
type ForecastResult struct {
	By      string          `json:"by"`
	Key     string          `json:"key"`
	Step    string          `json:"step"`
	Method  string          `json:"method"`
	Seasons []int           `json:"seasons"`
	Since   time.Time       `json:"since"` // start of the history used
	Until   time.Time       `json:"until"` // end of the history, start of the forecast
	History []ForecastPoint `json:"history"`
	// Forecast has one point per bucket of the horizon after until.
	Forecast []ForecastPoint `json:"forecast"`
	// Anomalies are the past buckets whose actual volume left the band.
	Anomalies []time.Time `json:"anomalies"`
}

// Forecast fits the alert volume of one key (by=service&key=payment; by ""
// for all alerts) over lookback before until and forecasts horizon after
// it, in buckets of step (see package forecast). until is rounded down to
// a whole bucket, so a bucket still filling is not taken for a drop.
func (a *Analytics) Forecast(ctx context.Context, by, key string, until time.Time, lookback, horizon, step time.Duration) (*ForecastResult, error) {
	if by != "" && key == "" {
		return nil, badInput("key is required with by=%s", by)
	}
	if horizon <= 0 || horizon < step {
		return nil, badInput("horizon must be at least one step (%s)", step)
	}
	until = Bucket(until, step)
	since := until.Add(-lookback)
	if err := checkRange(since, until, step); err != nil {
		return nil, err
	}
	if horizon/step > MaxBuckets {
		return nil, badInput("horizon %s is more than %d steps", horizon, MaxBuckets)
	}
	q := Query{Since: since, Until: until, Step: step, By: by}
	if by != "" {
		q.Key, q.KeySet = key, true
	}
	rows, err := a.Store.Volume(ctx, q)
	if err != nil {
		return nil, err
	}
	bs := buckets(since, until, step)
	hist := make([]float64, len(bs))
	first := bs[0]
	for _, r := range rows {
		if i, ok := bucketIndex(bs, step, r.T); ok {
			hist[i] += float64(r.Alerts)
		}
	}
	p := forecast.Predict(hist, first, int(horizon/step), forecast.Options{Step: step})
	res := &ForecastResult{By: by, Key: key, Step: step.String(), Method: p.Method, Seasons: p.Seasons, Since: first, Until: until,
		History: make([]ForecastPoint, 0, len(p.Fitted)), Forecast: make([]ForecastPoint, 0, len(p.Forecast)), Anomalies: []time.Time{}}
	if res.Seasons == nil {
		res.Seasons = []int{}
	}
	for _, pt := range p.Fitted {
		fp := ForecastPoint{T: pt.T.UTC(), Expected: round3(pt.Expected), Lower: pt.Lower, Upper: pt.Upper, Anomaly: pt.Anomaly}
		if pt.HasActual {
			v := pt.Actual
			fp.Actual = &v
		}
		res.History = append(res.History, fp)
		if pt.Anomaly {
			res.Anomalies = append(res.Anomalies, fp.T)
		}
	}
	for _, pt := range p.Forecast {
		res.Forecast = append(res.Forecast, ForecastPoint{T: pt.T.UTC(), Expected: round3(pt.Expected), Lower: pt.Lower, Upper: pt.Upper})
	}
	return res, nil
}

// InputError is a request the analytics refuse (not a store failure).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func badInput(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}
