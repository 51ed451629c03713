package ingest

import (
	"time"

	"github.com/sift-aiops/sift/model"
)

// maxSessionAlerts bounds the decoding scratch a Session keeps between
// calls (alerts of one message).
const maxSessionAlerts = 1024

// Session decodes a stream of messages (e.g. one Kafka consumer's), one
// at a time, with a Decoder's configuration. It keeps scratch space and
// the last start time, end time and generator URL from one message to the
// next, so that a stream of small messages (one alert each) does not pay
// for them on every message. The results are exactly those of the
// Decoder. A Session is not safe for concurrent use.
type Session struct {
	d          *Decoder
	sc         scanner
	start, end timeCache
	tc         timeCaches
	in         []amv2Alert
}

// NewSession returns a Session decoding with d's configuration.
func (d *Decoder) NewSession() *Session {
	s := &Session{d: d}
	s.sc.resetSeen()
	s.tc = timeCaches{start: &s.start, end: &s.end}
	return s
}

// NewStreamSession returns a Session for one long-lived stream of
// messages (a Kafka consumer's) that also remembers the label and
// annotation sets it decoded, by the exact bytes of their JSON object
// (two generations of up to 8 MiB of such bytes): an alert notified
// again with the same labels (and annotations) gets the sets decoded the
// first time, without decoding or checking them again. Such sets are
// shared between the alerts the Session returns, so they must be
// treated as read-only (nothing in Sift modifies an alert's labels or
// annotations after decoding). The results are still exactly those of
// the Decoder.
func (d *Decoder) NewStreamSession() *Session {
	s := d.NewSession()
	s.sc.sets = newSetCache()
	return s
}

// AppendDecode decodes data like Decoder.Decode and appends the alerts to
// dst. On error it returns dst unchanged (no alert of a bad message is
// appended) and the error.
func (s *Session) AppendDecode(dst []model.Alert, format string, data []byte, now time.Time) ([]model.Alert, error) {
	if format == "" {
		// What the fast path accepts is Alertmanager v2 for Detect too
		// when its (first) alert has labels: try that first, and only
		// if it declines pay for Detect's full encoding/json pass.
		if out, err := s.d.decodeAMv2(dst, data, now, s, true); err != errNotFast {
			if err != nil {
				return dst, err
			}
			return out, nil
		}
		f, err := Detect(data)
		if err != nil {
			return dst, err
		}
		format = f
	}
	if format == FormatAMv2 {
		out, err := s.d.decodeAMv2(dst, data, now, s, false)
		if err != nil {
			return dst, err
		}
		return out, nil
	}
	alerts, err := s.d.Decode(format, data, now)
	if err != nil {
		return dst, err
	}
	return append(dst, alerts...), nil
}
