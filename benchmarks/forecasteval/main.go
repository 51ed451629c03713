// Command forecasteval scores history/forecast on simulated hourly
// alert-volume histories whose daily and weekly seasonality, trend, noise
// and anomalies are known.
//
// Each series is hourly, starts on a Monday, and has -weeks weeks of
// training history followed by one test week. Four shapes of service are
// simulated: a business-hours service, a night-batch service, a
// low-volume service with mostly empty hours, and a 24x7 service whose
// level shifts (×0.5 or ×2) 4 to 12 days before the end of training. All
// have a random weekly trend (-3 % .. +5 %), a day-to-day level wobble and
// over-dispersed Poisson counts. Spikes (1-3 hours, 2-4× the rate plus
// 4-10 alerts) and drops (2-4 hours at a tenth of the rate, only where the
// rate is at least 8 an hour) are injected at known hours, four in the
// training weeks (one of them in the last week, which the weekly
// seasonal-naive baseline repeats) and five in the test week.
//
// Forecasts: the model is fitted on the training weeks and forecasts the
// test week; the first 24 hours and the whole 168 are scored against the
// observed counts, leaving out the injected hours, with MAPE over hours
// with a non-zero count, MASE (mean absolute error divided by the
// training span's mean absolute 24-hour difference) and RMSSE (root mean
// squared error divided by the root mean squared 24-hour difference; the
// model forecasts a mean, which squared error rewards and absolute error
// does not quite: on mostly-zero counts a forecast of 0 has a lower MAE
// than the true mean). Baselines:
// seasonal-naive daily (the last training day repeated) and seasonal-naive
// weekly (the last training week). Band coverage is the share of the
// (non-injected) test hours inside the forecast band.
//
// Anomaly flags: the model gets training plus test weeks and its Fitted
// points over the test week are compared with the injected hours; each
// point's band comes from a fit on the data before its day, so the test
// week is not seen before it is checked. Precision and recall are over
// hours, summed over all series of a shape.
//
// The program exits with status 1 when the model's overall MAPE, MASE or
// RMSSE (24 h or 168 h) is not below both baselines'.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sift-aiops/sift/history/forecast"
)

const week = 168

const defaultLevel = 0.99 // forecast.Options' default Level

var shapes = []string{"business", "nightbatch", "lowvolume", "levelshift"}

type series struct {
	shape string
	y     []float64 // observed counts
	rate  []float64 // expected counts without anomalies or noise
	kind  []byte    // 0, 's' (spike) or 'd' (drop) per hour
}

func main() {
	seedsFlag := flag.String("seeds", "1,2,3,4,5", "comma-separated random seeds")
	weeks := flag.Int("weeks", 8, "training weeks before the test week")
	per := flag.Int("per", 3, "series per shape and seed")
	levels := flag.String("levels", "0.95,0.99,0.999", "band levels the anomaly flags are scored at (forecasts use the default)")
	flag.Parse()
	var seeds []uint64
	for _, f := range strings.Split(*seedsFlag, ",") {
		s, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "forecasteval: bad -seeds:", err)
			os.Exit(2)
		}
		seeds = append(seeds, s)
	}
	var lv []float64
	for _, f := range strings.Split(*levels, ",") {
		l, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || l <= 0 || l >= 1 {
			fmt.Fprintln(os.Stderr, "forecasteval: bad -levels:", f)
			os.Exit(2)
		}
		lv = append(lv, l)
	}
	if *weeks < 1 {
		fmt.Fprintln(os.Stderr, "forecasteval: -weeks must be at least 1")
		os.Exit(2)
	}

	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	n := *weeks * week
	byShape := map[string]*agg{}
	bySeed := map[uint64]*agg{}
	overall := newAgg(len(lv))
	var fitTime time.Duration
	fits := 0
	methods := map[string]int{}
	for _, seed := range seeds {
		bySeed[seed] = newAgg(len(lv))
		for si, shape := range shapes {
			if byShape[shape] == nil {
				byShape[shape] = newAgg(len(lv))
			}
			for k := 0; k < *per; k++ {
				rng := rand.New(rand.NewPCG(seed, uint64(si*1000+k)))
				s := simulate(rng, shape, *weeks)
				t0 := time.Now()
				res := forecast.Predict(s.y[:n], start, week, forecast.Options{})
				fitTime += time.Since(t0)
				fits++
				methods[res.Method]++
				sc := scoreForecast(s, n, res)
				sc.flags = make([]flagScore, len(lv))
				for li, l := range lv {
					full := forecast.Predict(s.y, start, 0, forecast.Options{Level: l})
					sc.flags[li] = scoreFlags(s, n, full)
				}
				for _, a := range []*agg{byShape[shape], bySeed[seed], overall} {
					a.add(sc)
				}
			}
		}
	}

	fmt.Printf("forecasteval: seeds %s, %d training weeks + 1 test week, %d series per shape and seed (%d series), %s\n\n",
		*seedsFlag, *weeks, *per, fits, time.Now().Format("2006-01-02 15:04"))
	fmt.Println("Forecast error on the test week, injected hours left out: MAPE over hours with a count > 0; MASE and RMSSE scaled by the training span's mean absolute / root mean squared 24-hour difference. Each cell: **model** / seasonal-naive daily / seasonal-naive weekly.")
	for h, title := range []string{"first 24 hours", "whole week (168 hours)"} {
		fmt.Println()
		fmt.Printf("Horizon: %s\n\n", title)
		if h == 0 {
			fmt.Println("| shape | MAPE | MASE | RMSSE |")
			fmt.Println("|---|---|---|---|")
		} else {
			fmt.Printf("| shape | MAPE | MASE | RMSSE | in forecast band (level %g) |\n", defaultLevel)
			fmt.Println("|---|---|---|---|---|")
		}
		for _, shape := range shapes {
			byShape[shape].forecastRow(shape, h)
		}
		overall.forecastRow("**overall**", h)
		for _, seed := range seeds {
			bySeed[seed].forecastRow(fmt.Sprintf("seed %d", seed), h)
		}
	}
	fmt.Println()
	fmt.Println("Anomaly flags over the test week (Fitted points, band from the data before each day): precision / recall over hours, and false flags per 1000 normal hours:")
	fmt.Println()
	head := "| shape |"
	sep := "|---|"
	for _, l := range lv {
		head += fmt.Sprintf(" level %g: P / R / false‰ |", l)
		sep += "---|"
	}
	fmt.Println(head + " recall spikes / drops (level 0.99 or first) |")
	fmt.Println(sep + "---|")
	li99 := 0
	for i, l := range lv {
		if l == 0.99 {
			li99 = i
		}
	}
	for _, shape := range shapes {
		byShape[shape].flagRow(shape, li99)
	}
	overall.flagRow("**overall**", li99)
	for _, seed := range seeds {
		bySeed[seed].flagRow(fmt.Sprintf("seed %d", seed), li99)
	}
	fmt.Println()
	ms := make([]string, 0, len(methods))
	for m, c := range methods {
		ms = append(ms, fmt.Sprintf("%s ×%d", m, c))
	}
	sort.Strings(ms)
	fmt.Printf("Methods: %s. Mean Predict time, %d hourly buckets + 168 forecast: %.2f ms.\n",
		strings.Join(ms, ", "), n, float64(fitTime.Microseconds())/1000/float64(fits))
	// One year of hourly history.
	yr := simulate(rand.New(rand.NewPCG(seeds[0], 99)), "business", 53)
	t0 := time.Now()
	res := forecast.Predict(yr.y[:8760], start, week, forecast.Options{})
	fmt.Printf("One year (8760 hourly buckets) + 168 forecast: %.1f ms (%s, %d fitted points).\n",
		float64(time.Since(t0).Microseconds())/1000, res.Method, len(res.Fitted))

	m := overall.mean
	ok := true
	for _, h := range []int{0, 1} {
		for _, k := range []func(h, w int) string{mapeK, maseK, rmsseK} {
			if !(m(k(h, 0)) < math.Min(m(k(h, 1)), m(k(h, 2)))) {
				ok = false
			}
		}
	}
	if !ok {
		fmt.Println("\nFAIL: the model does not beat the best seasonal-naive baseline overall")
		os.Exit(1)
	}
	fmt.Println("\nOK: the model beats both seasonal-naive baselines overall (MAPE, MASE and RMSSE, 24 h and 168 h)")
}

// ---- simulation ----

func simulate(rng *rand.Rand, shape string, weeks int) series {
	n := (weeks + 1) * week
	trainEnd := weeks * week
	s := series{shape: shape, y: make([]float64, n), rate: make([]float64, n), kind: make([]byte, n)}
	growth := -0.03 + 0.08*rng.Float64() // per week
	scale := 0.7 + 0.8*rng.Float64()
	shiftAt, shiftBy := -1, 1.0
	if shape == "levelshift" {
		shiftAt = trainEnd - 24*(4+rng.IntN(9)) - rng.IntN(24)
		if shiftAt < 0 {
			shiftAt = 0
		}
		if rng.IntN(2) == 0 {
			shiftBy = 0.5
		} else {
			shiftBy = 1.8 + 0.4*rng.Float64()
		}
	}
	batch := 15 + 25*rng.Float64()
	low := 0.15 + 0.45*rng.Float64()
	dayWobble := 1.0
	for t := 0; t < n; t++ {
		if t%24 == 0 {
			dayWobble = math.Exp(0.06 * rng.NormFloat64())
		}
		hod, dow := t%24, (t%week)/24 // dow 0 = Monday
		weekday := dow < 5
		h := float64(hod) + 0.5
		var r float64
		switch shape {
		case "business":
			b := logistic((h-8.5)/0.7) * logistic((18.5-h)/0.7)
			if weekday {
				r = 20 * scale * (0.1 + 0.9*b)
			} else {
				r = 20 * scale * (0.1 + 0.1*b)
			}
		case "nightbatch":
			r = 2*scale + 1.5*scale*logistic((h-9)/1)*logistic((17-h)/1)
			prof := []float64{0, 0.5, 1, 0.8, 0.3}
			if dow == 6 {
				if hod <= 6 {
					r += 1.6 * batch * math.Sin(math.Pi*h/7)
				}
			} else if dow != 5 && hod < len(prof) {
				r += batch * prof[hod]
			}
		case "lowvolume":
			r = low * (1 + 0.6*math.Sin(2*math.Pi*(h-6)/24))
			if !weekday {
				r *= 0.5
			}
		case "levelshift":
			r = 12 * scale * (1 + 0.4*math.Sin(2*math.Pi*(h-8)/24))
			if !weekday {
				r *= 0.7
			}
			if shiftAt >= 0 && t >= shiftAt {
				r *= shiftBy
			}
		}
		r *= (1 + growth*float64(t)/week) * dayWobble
		s.rate[t] = math.Max(r, 0)
		s.y[t] = poisson(rng, s.rate[t]*math.Exp(0.1*rng.NormFloat64()-0.005))
	}
	inject(rng, &s, 0, trainEnd-week, 3)
	inject(rng, &s, trainEnd-week, trainEnd, 1)
	inject(rng, &s, trainEnd, n, 5)
	return s
}

// inject puts count anomalies in [from, to), apart from each other.
func inject(rng *rand.Rand, s *series, from, to, count int) {
	if to <= from {
		return
	}
	for c, tries := 0, 0; c < count && tries < 1000; tries++ {
		t := from + rng.IntN(to-from)
		drop := rng.Float64() < 0.4
		length := 1 + rng.IntN(3)
		if drop {
			length = 2 + rng.IntN(3)
		}
		if t+length > to {
			continue
		}
		free := true
		for u := max(t-6, 0); u < min(t+length+6, len(s.y)); u++ {
			if s.kind[u] != 0 {
				free = false
			}
		}
		if drop {
			for u := t; u < t+length; u++ {
				if s.rate[u] < 8 {
					free = false
				}
			}
		}
		if !free {
			continue
		}
		m, a := 2+2*rng.Float64(), 4+6*rng.Float64()
		for u := t; u < t+length; u++ {
			if drop {
				s.y[u] = poisson(rng, 0.1*s.rate[u])
				s.kind[u] = 'd'
			} else {
				s.y[u] = poisson(rng, s.rate[u]*m+a)
				s.kind[u] = 's'
			}
		}
		c++
	}
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func poisson(rng *rand.Rand, lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	if lambda > 60 {
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64()))
	}
	l, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// ---- scoring ----

// score holds one series' numbers; NaN where undefined.
type score struct {
	mape, mase, rmsse [2][3]float64 // [24h, 168h][model, naive day, naive week]
	coverage          float64
	flags             []flagScore
}

type flagScore struct {
	tp, fp, fn, normal int
	spikes, spikesHit  int
	drops, dropsHit    int
}

func scoreForecast(s series, n int, res forecast.Result) score {
	var sc score
	scale, scale2, cnt := 0.0, 0.0, 0
	for t := 24; t < n; t++ {
		d := s.y[t] - s.y[t-24]
		scale += math.Abs(d)
		scale2 += d * d
		cnt++
	}
	scale /= float64(cnt)
	scale2 /= float64(cnt)
	pred := func(which, h int) float64 {
		switch which {
		case 0:
			return res.Forecast[h].Expected
		case 1:
			return s.y[n-24+h%24]
		default:
			return s.y[n-week+h]
		}
	}
	for hi, H := range []int{24, week} {
		for which := 0; which < 3; which++ {
			ape, apeN, ae, se, aeN := 0.0, 0, 0.0, 0.0, 0
			for h := 0; h < H; h++ {
				t := n + h
				if s.kind[t] != 0 {
					continue
				}
				e := math.Abs(s.y[t] - pred(which, h))
				ae += e
				se += e * e
				aeN++
				if s.y[t] > 0 {
					ape += e / s.y[t]
					apeN++
				}
			}
			sc.mape[hi][which] = math.NaN()
			if apeN > 0 {
				sc.mape[hi][which] = ape / float64(apeN)
			}
			sc.mase[hi][which], sc.rmsse[hi][which] = math.NaN(), math.NaN()
			if aeN > 0 && scale > 0 {
				sc.mase[hi][which] = ae / float64(aeN) / scale
				sc.rmsse[hi][which] = math.Sqrt(se / float64(aeN) / scale2)
			}
		}
	}
	in, all := 0, 0
	for h := 0; h < week; h++ {
		t := n + h
		if s.kind[t] != 0 {
			continue
		}
		all++
		if p := res.Forecast[h]; s.y[t] >= p.Lower && s.y[t] <= p.Upper {
			in++
		}
	}
	sc.coverage = float64(in) / float64(all)
	return sc
}

func scoreFlags(s series, n int, res forecast.Result) flagScore {
	var f flagScore
	flagged := map[int]bool{}
	for _, i := range res.Anomalies {
		flagged[i] = true
	}
	for t := n; t < len(s.y); t++ {
		switch {
		case s.kind[t] != 0 && flagged[t]:
			f.tp++
		case s.kind[t] != 0:
			f.fn++
		case flagged[t]:
			f.fp++
		}
		if s.kind[t] == 0 {
			f.normal++
		}
		if s.kind[t] == 's' {
			f.spikes++
			if flagged[t] {
				f.spikesHit++
			}
		}
		if s.kind[t] == 'd' {
			f.drops++
			if flagged[t] {
				f.dropsHit++
			}
		}
	}
	return f
}

// agg sums scores; metrics are means over series (NaN ones left out),
// flags are summed.
type agg struct {
	sum   map[string]float64
	cnt   map[string]int
	flags []flagScore
}

func newAgg(levels int) *agg {
	return &agg{sum: map[string]float64{}, cnt: map[string]int{}, flags: make([]flagScore, levels)}
}

func mapeK(h, w int) string  { return fmt.Sprintf("mape%d%d", h, w) }
func maseK(h, w int) string  { return fmt.Sprintf("mase%d%d", h, w) }
func rmsseK(h, w int) string { return fmt.Sprintf("rmsse%d%d", h, w) }

func (a *agg) put(k string, v float64) {
	if !math.IsNaN(v) {
		a.sum[k] += v
		a.cnt[k]++
	}
}

func (a *agg) mean(k string) float64 {
	if a.cnt[k] == 0 {
		return math.NaN()
	}
	return a.sum[k] / float64(a.cnt[k])
}

func (a *agg) add(sc score) {
	for h := 0; h < 2; h++ {
		for w := 0; w < 3; w++ {
			a.put(mapeK(h, w), sc.mape[h][w])
			a.put(maseK(h, w), sc.mase[h][w])
			a.put(rmsseK(h, w), sc.rmsse[h][w])
		}
	}
	a.put("cov", sc.coverage)
	for i, f := range sc.flags {
		g := &a.flags[i]
		g.tp += f.tp
		g.fp += f.fp
		g.fn += f.fn
		g.normal += f.normal
		g.spikes += f.spikes
		g.spikesHit += f.spikesHit
		g.drops += f.drops
		g.dropsHit += f.dropsHit
	}
}

func (a *agg) forecastRow(name string, h int) {
	cell := func(key func(h, w int) string, pct bool) string {
		var p []string
		for w := 0; w < 3; w++ {
			v := a.mean(key(h, w))
			s := fmt.Sprintf("%.2f", v)
			if pct {
				s = fmt.Sprintf("%.0f%%", 100*v)
			}
			if w == 0 {
				s = "**" + s + "**"
			}
			p = append(p, s)
		}
		return strings.Join(p, " / ")
	}
	row := fmt.Sprintf("| %s | %s | %s | %s |", name, cell(mapeK, true), cell(maseK, false), cell(rmsseK, false))
	if h == 1 {
		row += fmt.Sprintf(" %.1f%% |", 100*a.mean("cov"))
	}
	fmt.Println(row)
}

func (a *agg) flagRow(name string, li int) {
	row := "| " + name + " |"
	for _, f := range a.flags {
		p, r := ratio(f.tp, f.tp+f.fp), ratio(f.tp, f.tp+f.fn)
		row += fmt.Sprintf(" %s / %s / %.1f |", pct(p), pct(r), 1000*ratio(f.fp, f.normal))
	}
	f := a.flags[li]
	row += fmt.Sprintf(" %s of %d / %s of %d |", pct(ratio(f.spikesHit, f.spikes)), f.spikes, pct(ratio(f.dropsHit, f.drops)), f.drops)
	fmt.Println(row)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}
