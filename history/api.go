package history

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/internal/httpjson"
)

// Params are the query parameters of the analytics endpoints, parsed.
type Params struct {
	Since, Until time.Time
	Step         time.Duration
	By, Key      string
	Limit        int
	Horizon      time.Duration
	Lookback     time.Duration
	Window       time.Duration
	Baseline     time.Duration
	MinCount     int
}

// ParamError names the parameter at fault.
type ParamError struct {
	Field string
	Msg   string
}

func (e *ParamError) Error() string { return e.Field + ": " + e.Msg }

// parseTime reads an RFC 3339 time, a Unix time in seconds, or a duration
// back from now ("24h", "7d").
func parseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	if d, err := correlate.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d >= 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time, Unix seconds or a duration like 24h or 7d", s)
}

// ParseParams reads the parameters of endpoint from q. defSince is how
// far back since goes by default.
func ParseParams(q url.Values, now time.Time, defSince time.Duration) (*Params, error) {
	p := &Params{Until: now.UTC(), Step: time.Hour, Limit: 20, Horizon: 24 * time.Hour, Lookback: 28 * 24 * time.Hour,
		Window: 7 * 24 * time.Hour, Baseline: 28 * 24 * time.Hour, MinCount: 2}
	for k := range q {
		if !slices.Contains([]string{"since", "until", "step", "by", "key", "limit", "horizon", "lookback", "window", "baseline", "min_count", "format"}, k) {
			return nil, &ParamError{k, "unknown parameter"}
		}
	}
	var err error
	if s := q.Get("until"); s != "" {
		if p.Until, err = parseTime(s, now); err != nil {
			return nil, &ParamError{"until", err.Error()}
		}
	}
	p.Since = p.Until.Add(-defSince)
	if s := q.Get("since"); s != "" {
		if p.Since, err = parseTime(s, now); err != nil {
			return nil, &ParamError{"since", err.Error()}
		}
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
	}{{"step", &p.Step}, {"horizon", &p.Horizon}, {"lookback", &p.Lookback}, {"window", &p.Window}, {"baseline", &p.Baseline}} {
		if s := q.Get(d.name); s != "" {
			v, err := correlate.ParseDuration(s)
			if err != nil || v <= 0 {
				return nil, &ParamError{d.name, fmt.Sprintf("%q is not a positive duration like 1h or 7d", s)}
			}
			*d.v = v
		}
	}
	if p.Step < time.Second {
		return nil, &ParamError{"step", "must be at least 1s"}
	}
	p.By, p.Key = q.Get("by"), q.Get("key")
	for _, n := range []struct {
		name string
		v    *int
	}{{"limit", &p.Limit}, {"min_count", &p.MinCount}} {
		if s := q.Get(n.name); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 {
				return nil, &ParamError{n.name, fmt.Sprintf("%q is not a whole number >= 0", s)}
			}
			*n.v = v
		}
	}
	return p, nil
}

// Endpoint names, under /api/v1/analytics/ and for `sift analytics`.
var Endpoints = []string{"volume", "response", "noise", "noisy", "flapping", "problems", "forecast", "emerging"}

// Run answers one analytics endpoint.
func (a *Analytics) Run(ctx context.Context, endpoint string, p *Params) (any, error) {
	if p.By != "" && (endpoint == "volume" || endpoint == "forecast") && !slices.Contains(Dimensions, p.By) {
		return nil, &ParamError{"by", fmt.Sprintf("%q is not one of %s", p.By, strings.Join(Dimensions, ", "))}
	}
	var v any
	var err error
	switch endpoint {
	case "volume":
		v, err = a.Volume(ctx, p.Since, p.Until, p.Step, p.By, p.Limit)
	case "response", "mtta", "mttr":
		v, err = a.Response(ctx, p.Since, p.Until, p.By)
	case "noise":
		v, err = a.Noise(ctx, p.Since, p.Until, p.Step)
	case "noisy":
		v, err = a.Top(ctx, p.Since, p.Until, false, p.Limit)
	case "flapping":
		v, err = a.Top(ctx, p.Since, p.Until, true, p.Limit)
	case "problems":
		v, err = a.Problems(ctx, p.Since, p.Until, p.Limit)
	case "forecast":
		v, err = a.Forecast(ctx, p.By, p.Key, p.Until, p.Lookback, p.Horizon, p.Step)
	case "emerging":
		v, err = a.Emerging(ctx, p.Until, p.Window, p.Baseline, p.MinCount, p.Limit)
	default:
		return nil, &ParamError{"endpoint", fmt.Sprintf("%q is not one of %s", endpoint, strings.Join(Endpoints, ", "))}
	}
	return v, err
}

// Register adds GET /api/v1/analytics/{endpoint} to mux.
func (a *Analytics) Register(mux httpjson.Mux, now func() time.Time) {
	mux.HandleFunc("GET /api/v1/analytics/{endpoint}", func(w http.ResponseWriter, r *http.Request) {
		ep := r.PathValue("endpoint")
		def := 7 * 24 * time.Hour
		if ep == "volume" || ep == "noise" {
			def = 24 * time.Hour
		}
		p, err := ParseParams(r.URL.Query(), now(), def)
		if err == nil {
			var v any
			ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
			defer cancel()
			if v, err = a.Run(ctx, ep, p); err == nil {
				httpjson.Write(w, http.StatusOK, v)
				return
			}
		}
		if pe, ok := err.(*ParamError); ok {
			code := http.StatusBadRequest
			if pe.Field == "endpoint" {
				code = http.StatusNotFound
			}
			httpjson.Error(w, code, pe.Field, err.Error())
			return
		}
		var ie *InputError
		if errors.As(err, &ie) {
			httpjson.Error(w, http.StatusBadRequest, "", err.Error())
			return
		}
		httpjson.Error(w, http.StatusServiceUnavailable, "", "history: "+err.Error())
	})
}
