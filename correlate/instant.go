package correlate

import "time"

// instant is a point in time in 8 bytes (Unix nanoseconds) where a
// time.Time takes 24: the engine keeps several per active alert. The zero
// instant is the zero time (and 1970-01-01T00:00:00Z, which no alert
// carries: ingest refuses times that far back). It reads back in UTC.
type instant int64

func toInstant(t time.Time) instant {
	if t.IsZero() {
		return 0
	}
	return instant(t.UnixNano())
}

// Time returns the instant as a time.Time in UTC (zero for zero).
func (i instant) Time() time.Time {
	if i == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(i)).UTC()
}

func (i instant) IsZero() bool                { return i == 0 }
func (i instant) Before(j instant) bool       { return i < j }
func (i instant) After(j instant) bool        { return i > j }
func (i instant) Equal(j instant) bool        { return i == j }
func (i instant) Sub(j instant) time.Duration { return time.Duration(i - j) }

func instantTimes(l []instant) []time.Time {
	if l == nil {
		return nil
	}
	out := make([]time.Time, len(l))
	for i, v := range l {
		out[i] = v.Time()
	}
	return out
}

func timeInstants(l []time.Time) []instant {
	if l == nil {
		return nil
	}
	out := make([]instant, len(l))
	for i, v := range l {
		out[i] = toInstant(v)
	}
	return out
}
