// Package forecast predicts the number of alert episodes per time bucket
// of one service (or any other count series) and flags the past buckets
// whose count left the band the model expected.
//
// The model is a robust multiplicative seasonal decomposition:
//
//	expected(t) = level(t) × profile[t mod P]
//
// where profile is the shape of the longest usable season (P buckets, e.g.
// the 168 hours of a week), normalised to mean 1, and level(t) is a level
// with a damped linear trend.
//
// Profile: each slot (e.g. Tuesday 10:00) is a recency-weighted ratio of
// counts to levels over the same slot in past cycles (weights halve every
// six weeks), leaving out values far from the slot's median, so a spike or
// a drop in the history does not move the forecast. Each slot is then
// shrunk towards its neighbours in time (the two buckets before and after)
// by empirical Bayes, as far as its Poisson noise is large compared with
// how much the slots of its day really differ from their neighbours: busy
// slots keep their own value, the slots of a low-volume service are
// smoothed. The shorter season's profile (hour of day) is used only to
// decide, when just two cycles are known, which of the two to trust.
//
// Level: the per-day (per shortest season) totals of the values, with
// those far from the expectation replaced by it, divided by the profile.
// A level shift in the last four weeks of days (least-absolute-deviation
// split, robust test) restarts the estimation after it; the trend is a
// Theil-Sen slope over the last four weeks of days (none with fewer than
// two), damped into the future; the level is the trimmed mean of the last
// seven days, detrended.
//
// Bands are quantiles of a negative binomial distribution around the
// expected value mu, with variance mu + (v + c)·mu²: Poisson noise, v the
// relative variance of the estimate of mu (from the profile's weights and
// shrinkage, and the level's), and an over-dispersion c fitted to the
// model's own past residuals. For those the history is replayed: the
// model is refitted at every day boundary (every shortest season; every
// bucket without seasonality) on the data before it and predicts the
// following day. c is chosen so that the median squared standardised
// residual is that of a normal distribution, which ignores the anomalies
// among them. These replayed predictions are also Result.Fitted, where the
// anomalies are flagged.
//
// The fit is deterministic and searches no parameters. With fewer than
// two cycles of a season the season is not used: less than two weeks of
// hourly data gives a daily profile only, less than two days a level and
// trend only. A fit looks back at most twelve cycles of its longest
// season (twelve weeks).
package forecast

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Options configure Predict. The zero value is usable.
type Options struct {
	// Step is the width of one bucket of the history; it places the
	// points in time and derives the default Seasons. Default: time.Hour.
	Step time.Duration
	// Seasons are the season lengths in buckets (e.g. 24 and 168 for a
	// day and a week of hourly buckets). nil derives them from Step: one
	// day and one week, each when it is a whole number (at least 2) of
	// Steps. A non-nil empty slice means no seasonality. A season is used
	// only when the history holds at least two of its cycles.
	Seasons []int
	// Level is the probability the band [Lower, Upper] is meant to cover,
	// in (0, 1). A bucket outside the band is an anomaly, so Level also
	// sets how rare a count must be to be flagged: at 0.99 about one
	// normal bucket in a hundred is flagged at most (fewer for small
	// counts, whose bands are whole numbers). Default: 0.99.
	Level float64
}

// Point is the model's view of one bucket.
type Point struct {
	// T is the start of the bucket: start + index·Step.
	T time.Time
	// Expected is the expected count (a mean, not rounded).
	Expected float64
	// Lower and Upper bound the band: the count distribution's quantiles
	// at (1-Level)/2 and (1+Level)/2. Both are whole numbers >= 0.
	Lower, Upper float64
	// Actual is the observed count, set when HasActual (Fitted points).
	Actual    float64
	HasActual bool
	// Anomaly is set when Actual < Lower or Actual > Upper.
	Anomaly bool
}

// Result is what Predict returns.
type Result struct {
	// Method names the model that made Forecast, e.g.
	// "seasonal[24 168]+trend", "seasonal[24]+trend", "level+trend",
	// or "zero" (the history has no positive count).
	Method string
	// Seasons are the season lengths (in buckets) the final fit used.
	Seasons []int
	// Fitted has one point per history bucket that could be checked, in
	// order: every bucket after the first two cycles of the shortest
	// usable season (after the first 3 buckets without seasonality). Its
	// Expected and band come from a fit on the history before that
	// bucket's day (the model is refitted once per shortest season; per
	// bucket without seasonality, or every few buckets when that would be
	// more than 1000 fits), so they are what the model expected, not an
	// in-sample fit.
	Fitted []Point
	// Forecast has horizon points, for the buckets right after the
	// history.
	Forecast []Point
	// Anomalies are the indexes into history of the Fitted points
	// flagged as anomalies, ascending.
	Anomalies []int
}

// Predict fits the model to history, the counts of consecutive buckets of
// width opts.Step starting at start, checks every history bucket it can
// against the band expected before it, and forecasts horizon buckets
// ahead. Negative, NaN and infinite counts are taken as 0. It never
// returns NaN or a negative bound.
func Predict(history []float64, start time.Time, horizon int, opts Options) Result {
	step, seasons, level := opts.normalized()
	y := make([]float64, len(history))
	for i, v := range history {
		if v > 0 && !math.IsInf(v, 1) {
			y[i] = v
		}
	}
	n := len(y)
	final := fit(y, seasons)
	res := Result{Method: final.method(), Seasons: final.seasons}
	pl, pu := (1-level)/2, (1+level)/2

	// Replay the history: refit every shortest season (every bucket
	// without seasonality, but at most maxRefits times) on the data before.
	refresh, first := 1, 3
	if len(final.seasons) > 0 {
		refresh = final.seasons[0]
		first = 2 * refresh
	}
	if n-first > refresh*maxRefits {
		refresh = (n - first + maxRefits - 1) / maxRefits
	}
	type check struct {
		t, key, window int
		mu, rv, y      float64
	}
	var checks []check
	for t0 := first; t0 < n; t0 += refresh {
		m := fit(y[:t0], seasons)
		for t := t0; t < t0+refresh && t < n; t++ {
			checks = append(checks, check{t: t, key: m.P, window: m.window, mu: m.meanAt(t), rv: m.relVarAt(t), y: y[t]})
		}
	}

	// Over-dispersion from the replayed residuals, per kind of fit (its
	// longest season), else of all fits together, else a default.
	byKey := map[int][]resid{}
	var all []resid
	for _, c := range checks {
		if c.mu >= minMuForDispersion {
			r := resid{r: c.y - c.mu, mu: c.mu, rv: c.rv}
			byKey[c.key] = append(byKey[c.key], r)
			all = append(all, r)
		}
	}
	cKey := map[int]float64{}
	for k, rs := range byKey {
		if c, ok := dispersion(rs); ok {
			cKey[k] = c
		}
	}
	cAll, okAll, doneAll := 0.0, false, false
	disp := func(key int) float64 {
		if c, ok := cKey[key]; ok {
			return c
		}
		if !doneAll {
			cAll, okAll = dispersion(all)
			doneAll = true
		}
		if okAll {
			return cAll
		}
		return defaultDispersion
	}

	for _, c := range checks {
		lo, hi := band(c.mu, c.rv+disp(c.key), pl, pu, c.window)
		p := Point{T: start.Add(time.Duration(c.t) * step), Expected: c.mu, Lower: lo, Upper: hi, Actual: c.y, HasActual: true}
		p.Anomaly = c.y < lo || c.y > hi
		if p.Anomaly {
			res.Anomalies = append(res.Anomalies, c.t)
		}
		res.Fitted = append(res.Fitted, p)
	}
	if horizon > 0 {
		res.Forecast = make([]Point, horizon)
		c := disp(final.P)
		for h := 0; h < horizon; h++ {
			t := n + h
			mu := final.meanAt(t)
			lo, hi := band(mu, final.relVarAt(t)+c, pl, pu, final.window)
			res.Forecast[h] = Point{T: start.Add(time.Duration(t) * step), Expected: mu, Lower: lo, Upper: hi}
		}
	}
	return res
}

func (o Options) normalized() (step time.Duration, seasons []int, level float64) {
	step = o.Step
	if step <= 0 {
		step = time.Hour
	}
	level = o.Level
	if !(level > 0 && level < 1) {
		level = 0.99
	}
	cand := o.Seasons
	if cand == nil {
		for _, d := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
			if d%step == 0 && d/step >= 2 {
				cand = append(cand, int(d/step))
			}
		}
	}
	for _, s := range cand {
		if s >= 2 {
			seasons = append(seasons, s)
		}
	}
	sort.Ints(seasons)
	out := seasons[:0]
	for i, s := range seasons {
		if i == 0 || s != seasons[i-1] {
			out = append(out, s)
		}
	}
	return step, out, level
}

// Model constants. None is fitted per series. They were set by hand on
// the synthetic services of benchmarks/forecasteval with seeds other than
// the reported ones; there the overall errors move little when the
// half-life, the rejection threshold, the level window, the trend damping
// or the shift thresholds are halved or doubled (see benchmarks/RESULTS.md).
const (
	maxCycles          = 12   // a fit looks back at most this many cycles of its longest season
	levelOnlyWindow    = 48   // buckets a fit without seasonality looks back
	halfLifeCycles     = 6.0  // a past value's weight in a profile halves every this many cycles of the longest season
	rejectSigmas       = 4.0  // a value this many standard deviations from its reference is left out
	profileRelErr      = 0.10 // relative error allowed around a profile slot's median
	levelRelErr        = 0.25 // relative error allowed around the expected value when cleaning levels
	trendBlocks        = 28   // blocks (days) the trend is fitted on
	minTrendBlocks     = 14   // fewer blocks (since a level shift): no trend
	levelBlocks        = 7    // blocks (days) the current level is averaged over
	dampSeasonal       = 0.95 // trend damping per block with seasonality
	dampLevelOnly      = 0.9  // trend damping per bucket without seasonality
	shiftStat          = 5.0  // robust t-statistic for a level shift
	shiftMinRatio      = 1.3  // smallest level ratio taken as a shift
	maxRefits          = 1000 // the replay of a long history refits at most about this often
	minMuForDispersion = 3.0  // residuals of expected counts below this do not set the over-dispersion
	minDispersionN     = 30   // fewer such residuals: use all kinds of fit together, then the default
	defaultDispersion  = 0.02
)

// model is one fit: expected(t) = max(0, level + slope·damped(t)) × S[t mod P].
type model struct {
	zero    bool
	seasons []int
	P, B    int
	S       []float64 // profile, mean 1
	rv      []float64 // relative variance of each profile slot's estimate
	level   float64
	levelRV float64 // relative variance of the level
	slope   float64 // per block
	tc      float64 // global index (continuous, bucket units) the level refers to
	damp    float64
	window  int // buckets the fit looked at
}

func (m *model) method() string {
	if m.zero {
		return "zero"
	}
	if len(m.seasons) == 0 {
		return "level+trend"
	}
	s := make([]string, len(m.seasons))
	for i, v := range m.seasons {
		s[i] = fmt.Sprint(v)
	}
	return "seasonal[" + strings.Join(s, " ") + "]+trend"
}

// meanAt is the expected count at global bucket index t (t >= the fitted length).
func (m *model) meanAt(t int) float64 {
	if m.zero {
		return 0
	}
	h := (float64(t) + 0.5 - m.tc) / float64(m.B)
	d := h
	if h > 0 && m.damp < 1 {
		d = m.damp * (1 - math.Pow(m.damp, h)) / (1 - m.damp)
	}
	l := m.level + m.slope*d
	if !(l > 0) {
		return 0
	}
	v := l * m.S[t%m.P]
	if !(v > 0) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// relVarAt is the relative variance of meanAt(t) from estimating it.
func (m *model) relVarAt(t int) float64 {
	if m.zero {
		return 0
	}
	return m.rv[t%m.P] + m.levelRV
}

// fit fits the model to y (global indexes 0..len(y)-1).
func fit(y []float64, seasons []int) *model {
	n := len(y)
	m := &model{P: 1, B: 1, damp: dampLevelOnly}
	for _, s := range seasons {
		if n >= 2*s {
			m.seasons = append(m.seasons, s)
		}
	}
	if len(m.seasons) > 0 {
		m.P, m.B = m.seasons[len(m.seasons)-1], m.seasons[0]
		m.damp = dampSeasonal
	}
	w0 := 0
	if m.P > 1 {
		if n > maxCycles*m.P {
			w0 = n - maxCycles*m.P
		}
	} else if n > levelOnlyWindow {
		w0 = n - levelOnlyWindow
	}
	seg := y[w0:]
	m.window = len(seg)
	total := 0.0
	for _, v := range seg {
		total += v
	}
	if total <= 0 {
		m.zero = true
		return m
	}
	B := m.B
	nb := len(seg) / B
	head := len(seg) - nb*B // values before the first whole block (blocks end with the history)
	blockOf := func(i int) int {
		if i < head {
			return 0
		}
		return (i - head) / B
	}

	// Initial level per block: block means averaged over one longest
	// season (seven buckets without seasonality), so that the level
	// carries no seasonality of its own.
	bm := make([]float64, nb)
	for j := range bm {
		for _, v := range seg[head+j*B : head+(j+1)*B] {
			bm[j] += v
		}
		bm[j] /= float64(B)
	}
	width := m.P / B
	if m.P == 1 {
		width = 7
	}
	lb := make([]float64, nb)
	for j := range lb {
		a, b := max(j-width/2, 0), min(j-width/2+width, nb)
		for _, v := range bm[a:b] {
			lb[j] += v
		}
		lb[j] /= float64(b - a)
	}
	L := make([]float64, len(seg))
	setL := func(lv []float64) bool {
		mean := 0.0
		for _, v := range lv {
			mean += v
		}
		mean /= float64(len(lv))
		if !(mean > 0) {
			return false
		}
		for i := range L {
			L[i] = math.Max(lv[blockOf(i)], 1e-3*mean)
		}
		return true
	}
	if !setL(lb) {
		m.zero = true
		return m
	}

	m.S, m.rv = []float64{1}, []float64{0}
	hl := halfLifeCycles * float64(m.P)
	yc := make([]float64, len(seg))
	for iter := 0; iter < 2; iter++ {
		if m.P > 1 {
			// With fewer than three cycles some slots have two values:
			// the next shorter season's shape tells which to trust.
			var hint []float64
			group := m.P
			if last := len(m.seasons) - 1; last > 0 {
				q := m.seasons[last-1]
				if m.P%q == 0 {
					group = q
				}
				if len(seg) < 3*m.P {
					if Sq, _ := profile(seg, w0, n, L, q, nil, q, hl); Sq != nil {
						hint = hintFor(seg, w0, L, Sq, m.P)
					}
				}
			}
			S, rv := profile(seg, w0, n, L, m.P, hint, group, hl)
			if S == nil {
				m.zero = true
				return m
			}
			m.S, m.rv = S, rv
		}
		// Clean the values far from the current expectation, then take
		// the level of each block from the cleaned values.
		for i, v := range seg {
			e := L[i] * m.S[(w0+i)%m.P]
			sd := math.Sqrt(e + (levelRelErr*e)*(levelRelErr*e) + 1)
			if math.Abs(v-e) > rejectSigmas*sd {
				yc[i] = e
			} else {
				yc[i] = v
			}
		}
		for j := range lb {
			s, ss := 0.0, 0.0
			for i := head + j*B; i < head+(j+1)*B; i++ {
				s += yc[i]
				ss += m.S[(w0+i)%m.P]
			}
			switch {
			case ss > 0:
				lb[j] = s / ss
			case j > 0:
				lb[j] = lb[j-1]
			default:
				lb[j] = 0
			}
		}
		if !setL(runMedian(lb, max(width, 3))) {
			m.zero = true
			return m
		}
	}

	// Level and trend from the cleaned block levels.
	use := lb
	if len(use) > trendBlocks {
		use = use[len(use)-trendBlocks:]
	}
	use = use[levelShift(use, B):]
	if len(use) >= minTrendBlocks {
		m.slope = theilSen(use)
	}
	k := min(levelBlocks, len(use))
	v := make([]float64, k)
	for j := range v {
		v[j] = use[len(use)-1-j] + m.slope*float64(j)
	}
	m.level = trimmedMean(v)
	m.tc = float64(n) - float64(B)/2
	if !(m.level > 0) {
		m.zero = true
		return m
	}
	m.levelRV = 1 / math.Max(m.level*float64(B*k), 1)
	return m
}

// profile estimates the shape of a season of p buckets from seg (global
// indexes w0..n-1) given the level L of each value. Per slot it takes the
// weighted ratio of counts to levels over the cycles (weights halve every
// hl buckets back), leaving out values far from the slot's median (with
// only two cycles: far from the one closer to hint, the shorter season's
// shape, flat when nil). It then shrinks each slot towards its neighbours
// in time (the two buckets before and after it) by empirical Bayes: the
// more Poisson noise a slot's ratio has compared with how far the slots of
// its group (group consecutive slots, e.g. one day of the week) really
// differ from their neighbours, the more it is shrunk. A busy slot keeps
// its own value; the slots of a low-volume series are smoothed. S has mean
// 1 (nil when all zero); rv is the relative variance of each slot.
func profile(seg []float64, w0, n int, L []float64, p int, hint []float64, group int, hl float64) (S, rv []float64) {
	S, rv = make([]float64, p), make([]float64, p)
	r, qd := make([]float64, p), make([]float64, p) // ratio, and its variance per unit of rate (Σw²L/(ΣwL)²)
	ok := make([]bool, p)
	vals := make([]float64, 0, len(seg)/p+1)
	decay := math.Exp2(float64(p) / hl) // weight of a cycle over the one before
	for k := 0; k < p; k++ {
		hk := 1.0
		if hint != nil {
			hk = hint[k]
		}
		i0 := ((k-w0)%p + p) % p
		vals = vals[:0]
		for i := i0; i < len(seg); i += p {
			vals = append(vals, seg[i]/L[i])
		}
		var ref float64
		switch len(vals) {
		case 0:
			continue
		case 1:
			ref = vals[0]
		case 2:
			// Two cycles cannot outvote each other: trust the one closer to the shorter season's shape.
			ref = vals[0]
			if math.Abs(vals[1]-hk) < math.Abs(vals[0]-hk) {
				ref = vals[1]
			}
		default:
			ref = selectKth(vals, len(vals)/2)
		}
		w := math.Exp2(-float64(n-1-(w0+i0)) / hl)
		var A, D, Q float64
		for i := i0; i < len(seg); i, w = i+p, w*decay {
			e := ref * L[i]
			sd := math.Sqrt(e + (profileRelErr*e)*(profileRelErr*e) + 1)
			if math.Abs(seg[i]-e) > rejectSigmas*sd {
				continue
			}
			A += w * seg[i]
			D += w * L[i]
			Q += w * w * L[i]
		}
		if D > 0 {
			r[k], qd[k], ok[k] = A/D, Q/(D*D), true
		}
	}
	// The neighbours' weighted mean (1, 2, _, 2, 1) and its variance.
	nb, nbVar := make([]float64, p), make([]float64, p)
	for k := range nb {
		sw, sw2 := 0.0, 0.0
		for _, o := range [4][2]int{{-2, 1}, {-1, 2}, {1, 2}, {2, 1}} {
			j := ((k+o[0])%p + p) % p
			if p >= 5 && ok[j] {
				w := float64(o[1])
				nb[k] += w * r[j]
				nbVar[k] += w * w * qd[j]
				sw += w
				sw2 += w * w
			}
		}
		if sw > 0 {
			nb[k] /= sw
			nbVar[k] /= sw * sw
		} else {
			nb[k], nbVar[k] = r[k], math.Inf(1)
		}
	}
	// Spread of the slots around their neighbours beyond the noise, per group.
	rel := func(k int) (pf, v float64) {
		pf = math.Max(nb[k], minPool)
		return pf, qd[k] / pf // relative variance of r[k] at rate pf
	}
	tau2 := make([]float64, (p+group-1)/group)
	for g := range tau2 {
		num, den := 0.0, 0.0
		for k := g * group; k < min((g+1)*group, p); k++ {
			if !ok[k] || math.IsInf(nbVar[k], 1) {
				continue
			}
			pf, v := rel(k)
			d := r[k]/pf - 1
			num += pf * (d*d - v - nbVar[k]/pf)
			den += pf
		}
		if den > 0 {
			tau2[g] = math.Max(num/den, 0)
		}
	}
	sum := 0.0
	for k := range S {
		if !ok[k] {
			S[k] = nb[k]
			sum += S[k]
			continue
		}
		pf, v := rel(k)
		shrink := 0.0
		if t := tau2[k/group]; !math.IsInf(nbVar[k], 1) && v+t > 0 {
			shrink = v / (v + t)
		}
		S[k] = shrink*nb[k] + (1-shrink)*r[k]
		rv[k] = (1-shrink)*v + shrink*math.Min(nbVar[k]/pf, v)
		sum += S[k]
	}
	if !(sum > 0) {
		return nil, nil
	}
	mean := sum / float64(p)
	for k := range S {
		S[k] /= mean
	}
	return S, rv
}

// minPool bounds a neighbour mean from below where relative deviations are taken.
const minPool = 0.01

// hintFor extends the shape S of a season of len(S) buckets to a season
// of p buckets: S repeated, times each repetition's ratio of counts to the
// expected counts (e.g. the day-of-week factor). Flat when p is not a
// multiple of len(S).
func hintFor(seg []float64, w0 int, L, S []float64, p int) []float64 {
	q := len(S)
	hint := make([]float64, p)
	if p%q != 0 {
		for k := range hint {
			hint[k] = 1
		}
		return hint
	}
	reps := p / q
	num, den := make([]float64, reps), make([]float64, reps)
	for i, v := range seg {
		t := w0 + i
		j := (t % p) / q
		num[j] += v
		den[j] += L[i] * S[t%q]
	}
	for k := range hint {
		j := k / q
		f := 1.0
		if den[j] > 0 {
			f = math.Min(math.Max(num[j]/den[j], 0.02), 50)
		}
		hint[k] = S[k%q] * f
	}
	return hint
}

// levelShift returns the first block after a clear level shift in the
// block levels lv, or 0: the split with the least absolute deviation from
// the medians of both sides, kept when the medians differ by a factor of
// shiftMinRatio and shiftStat robust standard errors.
func levelShift(lv []float64, B int) int {
	m := len(lv)
	if m < 6 {
		return 0
	}
	eps := 0.5 / float64(B)
	lg := make([]float64, m)
	for i, v := range lv {
		lg[i] = math.Log(v + eps)
	}
	d := make([]float64, m-1)
	for i := 1; i < m; i++ {
		d[i-1] = math.Abs(lg[i] - lg[i-1])
	}
	sigma := math.Max(1.4826*median(d)/math.Sqrt2, 1e-3)
	best, bestCost, bestDiff := 0, math.Inf(1), 0.0
	for s := 3; s <= m-3; s++ {
		mb, ma := median(append([]float64(nil), lg[:s]...)), median(append([]float64(nil), lg[s:]...))
		cost := 0.0
		for i, v := range lg {
			if i < s {
				cost += math.Abs(v - mb)
			} else {
				cost += math.Abs(v - ma)
			}
		}
		if cost < bestCost {
			best, bestCost, bestDiff = s, cost, ma-mb
		}
	}
	se := 1.2533 * sigma * math.Sqrt(1/float64(best)+1/float64(m-best))
	if math.Abs(bestDiff) > math.Log(shiftMinRatio) && math.Abs(bestDiff) > shiftStat*se {
		return best
	}
	return 0
}

// selectKth returns the k-th smallest of xs (0-based), reordering xs.
func selectKth(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		p := xs[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for xs[i] < p {
				i++
			}
			for xs[j] > p {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	return xs[k]
}

// median sorts xs in place.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	h := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[h]
	}
	return (xs[h-1] + xs[h]) / 2
}

// runMedian is the running median of xs over centred windows of width w
// (cut at the ends), kept as a sorted window.
func runMedian(xs []float64, w int) []float64 {
	out := make([]float64, len(xs))
	win := make([]float64, 0, w)
	lo, hi := 0, 0 // xs[lo:hi] is in win
	for i := range xs {
		a, b := max(i-w/2, 0), min(i-w/2+w, len(xs))
		for ; hi < b; hi++ {
			j := sort.SearchFloat64s(win, xs[hi])
			win = append(win, 0)
			copy(win[j+1:], win[j:])
			win[j] = xs[hi]
		}
		for ; lo < a; lo++ {
			j := sort.SearchFloat64s(win, xs[lo])
			win = append(win[:j], win[j+1:]...)
		}
		h := len(win) / 2
		if len(win)%2 == 1 {
			out[i] = win[h]
		} else {
			out[i] = (win[h-1] + win[h]) / 2
		}
	}
	return out
}

// theilSen is the median of the pairwise slopes of xs against its index.
func theilSen(xs []float64) float64 {
	var s []float64
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			s = append(s, (xs[j]-xs[i])/float64(j-i))
		}
	}
	return median(s)
}

// trimmedMean drops the smallest and largest of five or more values.
func trimmedMean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) >= 5 {
		s = s[1 : len(s)-1]
	}
	t := 0.0
	for _, v := range s {
		t += v
	}
	return t / float64(len(s))
}

// resid is a replayed residual r (actual minus expected mu) and the
// relative variance rv of the fit's expected value.
type resid struct{ r, mu, rv float64 }

// dispersion returns the over-dispersion c >= 0 such that the median of
// r²/(mu + (rv+c)·mu²) over rs is the median of a squared standard normal.
// A median ignores the anomalies among the residuals. ok is false with
// fewer than minDispersionN residuals.
func dispersion(rs []resid) (c float64, ok bool) {
	if len(rs) < minDispersionN {
		return 0, false
	}
	const target = 0.4549364 // median of chi-square with one degree of freedom
	z2 := make([]float64, len(rs))
	med := func(c float64) float64 {
		for i, r := range rs {
			z2[i] = r.r * r.r / (r.mu + (r.rv+c)*r.mu*r.mu)
		}
		return selectKth(z2, len(z2)/2)
	}
	if med(0) <= target {
		return 0, true
	}
	lo, hi := 0.0, 1.0
	for med(hi) > target && hi < 1e4 {
		hi *= 4
	}
	for it := 0; it < 30; it++ {
		mid := (lo + hi) / 2
		if med(mid) > target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi, true
}

// band returns the quantiles pl and pu of a count distribution with mean
// mu and variance mu + e·mu²: negative binomial with size 1/e, Poisson
// when e is 0. A zero mean is raised to 1/(window+1) so that an empty or
// all-zero history still gets a band.
func band(mu, e, pl, pu float64, window int) (lo, hi float64) {
	mu = math.Max(mu, 1/float64(window+1))
	v := mu + e*mu*mu
	if mu > 400 {
		sd := math.Sqrt(v)
		zl, zu := math.Sqrt2*math.Erfinv(2*pl-1), math.Sqrt2*math.Erfinv(2*pu-1)
		return math.Max(0, math.Floor(mu+zl*sd+0.5)), math.Max(0, math.Ceil(mu+zu*sd-0.5))
	}
	var pmf float64
	var next func(k float64) float64 // pmf(k+1)/pmf(k)
	if e*mu < 1e-9 {
		pmf = math.Exp(-mu)
		next = func(k float64) float64 { return mu / (k + 1) }
	} else {
		r := 1 / e
		q := mu / (r + mu)
		pmf = math.Exp(-r * math.Log1p(mu/r))
		next = func(k float64) float64 { return (k + r) / (k + 1) * q }
	}
	limit := mu + 60*math.Sqrt(v) + 100
	cdf := 0.0
	lo = -1
	for k := 0.0; ; k++ {
		cdf += pmf
		if lo < 0 && cdf >= pl {
			lo = k
		}
		if cdf >= pu || k >= limit {
			hi = k
			break
		}
		pmf *= next(k)
	}
	if lo < 0 {
		lo = hi
	}
	return lo, hi
}
