// Package ingest decodes and validates the alert formats Sift accepts and
// normalises them into model.Alert values:
//
//   - "amv2": the Alertmanager v2 API postableAlerts body (a JSON array of
//     {labels, annotations, startsAt, endsAt, generatorURL}) as sent by
//     Prometheus and amtool to POST /api/v2/alerts. A single alert object is
//     accepted too (one alert per Kafka message).
//   - "webhook": the Alertmanager webhook payload, version "4".
//   - "event": Sift's generic JSON event for systems that are not
//     Prometheus (see EVENTS.md and DecodeEvent).
//
// Every alert is validated the same way: labels must be present, label
// (and annotation) names must be valid Prometheus label names, labels with
// empty values are dropped (as Prometheus does), the configured drop_labels
// are removed before the alert gets its identity (fingerprint), the label
// set must not end up empty, and — unlike Alertmanager, which does not
// insist — an alertname label is required, because Sift names incidents,
// problems and knowledge after it. Times are RFC 3339, not before MinTime
// and not more than max_future after the receipt time; endsAt must not be
// before startsAt. A missing startsAt becomes the receipt time; a missing
// endsAt stays unset (the alert fires until resolved or timed out by the
// correlation stage). The JSON must be UTF-8 (encoding/json would turn
// invalid bytes into U+FFFD silently; they are refused, naming the
// string). An alert may hold at most max_labels_per_alert labels and
// max_annotations_per_alert annotations, names and label values of at
// most max_label_bytes, annotation values and the generatorURL of at most
// max_annotation_bytes (ReasonTooLarge). A batch is valid only if every
// alert in it is: the first problem found is returned as an *Error naming
// the field.
package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sift-aiops/sift/model"
)

// Formats accepted by Decode. They double as model.Batch.Source values.
const (
	FormatAMv2    = "amv2"
	FormatWebhook = "webhook"
	FormatEvent   = "event"
)

// Decoder decodes and validates alerts according to a Config. It is safe
// for concurrent use.
type Decoder struct {
	maxBatch  int
	drop      []string
	sets      [2]setLimits // labels, annotations
	maxURL    int
	maxFuture time.Duration
	// maxFutureSec is maxFuture in whole seconds (rounded down): a time
	// less than that many seconds after now (in Unix seconds) is not
	// too far ahead.
	maxFutureSec int64
}

// NewDecoder returns a Decoder for cfg (defaults applied). cfg should have
// passed Validate.
func NewDecoder(cfg Config) *Decoder {
	cfg = cfg.WithDefaults()
	return &Decoder{
		maxBatch: cfg.MaxBatch,
		drop:     cfg.DropLabels,
		sets: [2]setLimits{
			{what: "label", count: cfg.MaxLabelsPerAlert, name: cfg.MaxLabelBytes, value: cfg.MaxLabelBytes,
				countKey: "max_labels_per_alert", valueKey: "max_label_bytes"},
			{what: "annotation", count: cfg.MaxAnnotationsPerAlert, name: cfg.MaxLabelBytes, value: cfg.MaxAnnotationBytes,
				countKey: "max_annotations_per_alert", valueKey: "max_annotation_bytes"},
		},
		maxURL:       cfg.MaxAnnotationBytes,
		maxFuture:    time.Duration(cfg.MaxFuture),
		maxFutureSec: int64(time.Duration(cfg.MaxFuture) / time.Second),
	}
}

var defaultDecoder = NewDecoder(Config{})

// DecodeAMv2 decodes an Alertmanager v2 postableAlerts body with the
// default Config, taking the current time as the receipt time.
func DecodeAMv2(data []byte) ([]model.Alert, error) {
	return defaultDecoder.DecodeAMv2(data, time.Now())
}

// DecodeWebhook decodes an Alertmanager webhook (version 4) body with the
// default Config, taking the current time as the receipt time.
func DecodeWebhook(data []byte) ([]model.Alert, error) {
	return defaultDecoder.DecodeWebhook(data, time.Now())
}

// DecodeEvent decodes generic events (one object or an array, see
// EVENTS.md) with the default Config, taking the current time as the
// receipt time.
func DecodeEvent(data []byte) ([]model.Alert, error) {
	return defaultDecoder.DecodeEvent(data, time.Now())
}

// Decode decodes data in the given format ("amv2", "webhook", "event", or
// "" to detect it, see Detect) with the default Config.
func Decode(format string, data []byte) ([]model.Alert, error) {
	return defaultDecoder.Decode(format, data, time.Now())
}

// Decode decodes data in the given format; "" detects it (see Detect). now
// is the receipt time: it fills missing start times and ends resolved
// alerts.
func (d *Decoder) Decode(format string, data []byte, now time.Time) ([]model.Alert, error) {
	if format == "" {
		f, err := Detect(data)
		if err != nil {
			return nil, err
		}
		format = f
	}
	switch format {
	case FormatAMv2:
		return d.DecodeAMv2(data, now)
	case FormatWebhook:
		return d.DecodeWebhook(data, now)
	case FormatEvent:
		return d.DecodeEvent(data, now)
	}
	return nil, &Error{Msg: fmt.Sprintf("unknown format %q (want amv2, webhook, event, or empty to detect)", format), reason: ReasonUnknownFormat}
}

// detectProbe picks out the keys that tell the formats apart.
type detectProbe struct {
	Alerts      json.RawMessage `json:"alerts"`
	Version     json.RawMessage `json:"version"`
	Labels      json.RawMessage `json:"labels"`
	Name        json.RawMessage `json:"name"`
	Service     json.RawMessage `json:"service"`
	Host        json.RawMessage `json:"host"`
	Severity    json.RawMessage `json:"severity"`
	Status      json.RawMessage `json:"status"`
	Summary     json.RawMessage `json:"summary"`
	Description json.RawMessage `json:"description"`
	Time        json.RawMessage `json:"time"`
	EndTime     json.RawMessage `json:"end_time"`
	Source      json.RawMessage `json:"source"`
}

func (p *detectProbe) format() string {
	if p.Alerts != nil && p.Version != nil {
		return FormatWebhook
	}
	if p.Labels != nil && p.Name == nil && p.Service == nil && p.Host == nil && p.Severity == nil &&
		p.Status == nil && p.Summary == nil && p.Description == nil && p.Time == nil &&
		p.EndTime == nil && p.Source == nil {
		return FormatAMv2
	}
	return FormatEvent
}

// Detect tells the format of data: a JSON object with "alerts" and
// "version" is a webhook; an object, or an array whose first element is an
// object, with "labels" and none of the event-only fields (name, service,
// host, severity, status, summary, description, time, end_time, source) is
// amv2; anything else is an event.
func Detect(data []byte) (string, error) {
	switch firstByte(data) {
	case 0:
		return "", errEmptyBody()
	case '{':
		var p detectProbe
		if err := json.Unmarshal(data, &p); err != nil {
			return "", jsonErr("", err)
		}
		return p.format(), nil
	case '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(data, &raws); err != nil {
			return "", jsonErr("", err)
		}
		if len(raws) == 0 || firstByte(raws[0]) != '{' {
			return FormatAMv2, nil // its decoder reports the problem
		}
		var p detectProbe
		if err := json.Unmarshal(raws[0], &p); err != nil {
			return "", jsonErr("[0]", err)
		}
		if p.format() == FormatWebhook {
			return FormatAMv2, nil
		}
		return p.format(), nil
	}
	return "", errNotJSONContainer()
}

func errEmptyBody() *Error {
	return &Error{Msg: "empty body: expected JSON", reason: ReasonInvalidJSON}
}

func errNotJSONContainer() *Error {
	return &Error{Msg: "expected a JSON array of alerts or a JSON object", reason: ReasonInvalidJSON}
}

func firstByte(data []byte) byte {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

func (d *Decoder) checkCount(n int, field string) *Error {
	if n == 0 {
		return &Error{Field: field, Msg: "no alerts: the batch is empty", reason: ReasonEmptyBatch}
	}
	if n > d.maxBatch {
		return &Error{Field: field, Msg: fmt.Sprintf("%d alerts exceed the limit of %d per request (ingest.max_batch)", n, d.maxBatch), reason: ReasonTooManyAlerts}
	}
	return nil
}

func index(prefix string, i int, single bool) string {
	if single {
		return prefix
	}
	return prefix + "[" + strconv.Itoa(i) + "]"
}

func join(p, field string) string {
	if p == "" {
		return field
	}
	return p + "." + field
}

// amv2Alert is one element of Alertmanager's postableAlerts.
type amv2Alert struct {
	Labels       model.LabelSet `json:"labels"`
	Annotations  model.LabelSet `json:"annotations"`
	StartsAt     string         `json:"startsAt"`
	EndsAt       string         `json:"endsAt"`
	GeneratorURL string         `json:"generatorURL"`
}

// DecodeAMv2 decodes an Alertmanager v2 postableAlerts body (or a single
// alert object) received at now.
func (d *Decoder) DecodeAMv2(data []byte, now time.Time) ([]model.Alert, error) {
	return d.decodeAMv2(nil, data, now, nil, false)
}

// errNotFast: decodeAMv2 was asked to detect the format and the data is
// not what the fast path takes for certain as Alertmanager v2.
var errNotFast = errors.New("not decoded by the fast path")

// decodeAMv2 appends the alerts of data to dst; on error it returns dst
// unchanged. ss, if not nil, lends its scanner and caches.
//
// detect (with ss) means the format is not known yet: if the fast path
// declines data, or its first alert has no labels (Detect would call it
// an event), it returns errNotFast and decodes nothing. What the fast path
// accepts has only the keys of Alertmanager v2 alerts, which Detect
// (matching keys case-insensitively) takes for amv2 exactly when the
// (first) alert has "labels", or the array is empty.
func (d *Decoder) decodeAMv2(dst []model.Alert, data []byte, now time.Time, ss *Session, detect bool) ([]model.Alert, error) {
	var in []amv2Alert
	single := false
	fb := firstByte(data)
	var fast []amv2Alert
	var ok bool
	if ss != nil {
		fast, ok = ss.sc.amv2(data, ss.in[:0])
		if !ok {
			clear(ss.in[:cap(ss.in)]) // partly decoded alerts: do not keep their maps
		} else if cap(fast) <= maxSessionAlerts {
			defer func() { clear(fast); ss.in = fast[:0] }()
		}
	} else {
		fast, ok = fastAMv2(data)
	}
	if detect && (!ok || len(fast) > 0 && fast[0].Labels == nil) {
		if ss != nil {
			clear(ss.sc.meta) // do not keep the message alive
		}
		return dst, errNotFast
	}
	if ok {
		in, fb, single = fast, 0xff, fb == '{'
	}
	switch fb {
	case 0xff: // decoded by the fast path
	case 0:
		return nil, errEmptyBody()
	case '[':
		if err := json.Unmarshal(data, &in); err != nil {
			if e := locateArray[amv2Alert](data, "", err); e != nil {
				return nil, e
			}
			return nil, jsonErr("", err)
		}
		if err := checkUTF8(data); err != nil {
			return nil, err.withCount(len(in))
		}
	case '{':
		single = true
		in = make([]amv2Alert, 1)
		if err := json.Unmarshal(data, &in[0]); err != nil {
			return nil, jsonErr("", err)
		}
		if err := checkUTF8(data); err != nil {
			return nil, err.withCount(1)
		}
	default:
		return nil, &Error{Msg: "expected a JSON array of alerts (or one alert object)", reason: ReasonInvalidJSON}
	}
	if err := d.checkCount(len(in), ""); err != nil {
		return nil, err.withCount(len(in))
	}
	n0 := len(dst)
	out := slices.Grow(dst, len(in))[:n0+len(in)]
	tc := newTimeCaches()
	if ss != nil {
		tc = &ss.tc
	}
	var meta []setMeta
	if ss != nil && ok && ss.sc.sets != nil {
		meta = ss.sc.meta
		defer clear(meta) // do not keep the message alive
	}
	for i := range in {
		src := &in[i]
		a := &out[n0+i]
		*a = model.Alert{Labels: src.Labels, Annotations: src.Annotations, GeneratorURL: src.GeneratorURL}
		var m *setMeta
		if i < len(meta) {
			m = &meta[i]
		}
		if err := d.finishSets(index("", i, single), a, src.StartsAt, src.EndsAt, now, tc, m); err != nil {
			clear(out[n0:])
			return dst, err.withCount(len(in))
		}
		if m != nil {
			// Checked and normalised: from now on the same bytes give
			// this set without decoding or checking it again.
			if m.raw[0] != nil {
				ss.sc.sets.add(0, m.hash[0], m.raw[0], a.Labels)
			}
			if m.raw[1] != nil {
				ss.sc.sets.add(1, m.hash[1], m.raw[1], a.Annotations)
			}
		}
	}
	return out, nil
}

// webhookMsg is the Alertmanager webhook payload (version 4). Only the
// fields Sift uses are decoded; groupLabels, commonLabels, ... are derived
// from the alerts.
type webhookMsg struct {
	Version *string        `json:"version"`
	Alerts  []webhookAlert `json:"alerts"`
}

type webhookAlert struct {
	Status       string         `json:"status"`
	Labels       model.LabelSet `json:"labels"`
	Annotations  model.LabelSet `json:"annotations"`
	StartsAt     string         `json:"startsAt"`
	EndsAt       string         `json:"endsAt"`
	GeneratorURL string         `json:"generatorURL"`
}

// DecodeWebhook decodes an Alertmanager webhook payload (version "4"; a
// missing version is accepted, any other is rejected) received at now.
// Alerts with status "resolved" come out resolved: their endsAt is kept if
// it is not after now, and set to now otherwise. Alerts with status
// "firing" come out firing: an endsAt that is not after now is cleared.
func (d *Decoder) DecodeWebhook(data []byte, now time.Time) ([]model.Alert, error) {
	switch firstByte(data) {
	case 0:
		return nil, errEmptyBody()
	case '{':
	default:
		return nil, &Error{Msg: "expected a JSON object (Alertmanager webhook payload)", reason: ReasonInvalidJSON}
	}
	var msg webhookMsg
	if err := json.Unmarshal(data, &msg); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			var outer struct {
				Alerts json.RawMessage `json:"alerts"`
			}
			if json.Unmarshal(data, &outer) == nil && firstByte(outer.Alerts) == '[' {
				if e := locateArray[webhookAlert](outer.Alerts, "alerts", err); e != nil {
					return nil, e
				}
			}
		}
		return nil, jsonErr("", err)
	}
	if err := checkUTF8(data); err != nil {
		return nil, err.withCount(len(msg.Alerts))
	}
	if msg.Version != nil && *msg.Version != "4" {
		return nil, &Error{Field: "version", Msg: fmt.Sprintf("unsupported webhook version %q (want \"4\")", *msg.Version), reason: ReasonInvalidJSON}
	}
	if msg.Alerts == nil {
		return nil, &Error{Field: "alerts", Msg: "missing", reason: ReasonEmptyBatch}
	}
	if err := d.checkCount(len(msg.Alerts), "alerts"); err != nil {
		return nil, err.withCount(len(msg.Alerts))
	}
	out := make([]model.Alert, len(msg.Alerts))
	tc := newTimeCaches()
	for i := range msg.Alerts {
		src := &msg.Alerts[i]
		p := index("alerts", i, false)
		if src.Status != "" && src.Status != model.StatusFiring && src.Status != model.StatusResolved {
			return nil, alertErr(p+".status", "invalid status %q (want firing or resolved)", src.Status).withCount(len(msg.Alerts))
		}
		a := &out[i]
		a.Labels, a.Annotations, a.GeneratorURL = src.Labels, src.Annotations, src.GeneratorURL
		if err := d.finish(p, a, src.StartsAt, src.EndsAt, now, tc); err != nil {
			return nil, err.withCount(len(msg.Alerts))
		}
		applyStatus(a, src.Status, now)
	}
	return out, nil
}

// applyStatus makes an explicit status authoritative over endsAt.
func applyStatus(a *model.Alert, status string, now time.Time) {
	switch status {
	case model.StatusResolved:
		if a.EndsAt.IsZero() || a.EndsAt.After(now) {
			a.EndsAt = now
		}
		if a.StartsAt.After(a.EndsAt) {
			a.StartsAt = a.EndsAt
		}
	case model.StatusFiring:
		if !a.EndsAt.IsZero() && !a.EndsAt.After(now) {
			a.EndsAt = time.Time{}
		}
	}
}

// locateArray turns an error from unmarshalling the array data into an
// *Error naming the offending element (prefix[i]), or nil if it cannot.
// It runs only on the error path.
func locateArray[T any](data []byte, prefix string, err error) *Error {
	var ute *json.UnmarshalTypeError
	if !errors.As(err, &ute) {
		return nil
	}
	var raws []json.RawMessage
	if json.Unmarshal(data, &raws) == nil {
		for i, r := range raws {
			var v T
			if e := json.Unmarshal(r, &v); e != nil {
				je := jsonErr(fmt.Sprintf("%s[%d]", prefix, i), e)
				je.Msg = fmt.Sprintf("invalid JSON at byte offset %d: cannot use a JSON %s as %s", ute.Offset, ute.Value, ute.Type)
				return je
			}
		}
	}
	return nil
}

// timeCache remembers the last time parsed: the alerts of one rule in a
// batch share their startsAt and endsAt.
type timeCache struct {
	s   string
	t   time.Time
	ok  bool
	set bool
}

func (c *timeCache) parse(s string) (time.Time, bool) {
	if c == nil {
		return parseTime(s)
	}
	if !c.set || c.s != s {
		c.s, c.set = s, true
		c.t, c.ok = parseTime(s)
	}
	return c.t, c.ok
}

type timeCaches struct{ start, end *timeCache }

func newTimeCaches() *timeCaches { return &timeCaches{start: &timeCache{}, end: &timeCache{}} }

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	if t.IsZero() { // "0001-01-01T00:00:00Z" is Alertmanager's "unset"
		return time.Time{}, true
	}
	return t.UTC(), true
}

// finish validates and normalises a decoded alert in place. p is the
// alert's field path.
func (d *Decoder) finish(p string, a *model.Alert, startsAt, endsAt string, now time.Time, tc *timeCaches) *Error {
	return d.finishSets(p, a, startsAt, endsAt, now, tc, nil)
}

// finishSets is finish; m, if not nil, tells which of a's sets came from
// a Session's cache: those passed these checks before and are shared, so
// they are neither checked nor modified again.
func (d *Decoder) finishSets(p string, a *model.Alert, startsAt, endsAt string, now time.Time, tc *timeCaches, m *setMeta) *Error {
	if m == nil || !m.cached[0] {
		if err := d.checkLabels(p, a.Labels); err != nil {
			return err
		}
	}
	if a.Annotations != nil && (m == nil || !m.cached[1]) {
		if err := cleanSet(p, "annotations", a.Annotations, &d.sets[1], nil); err != nil {
			return err
		}
		if len(a.Annotations) == 0 {
			a.Annotations = nil
		}
	}
	if len(a.GeneratorURL) > d.maxURL {
		return limitErr(join(p, "generatorURL"), "%d bytes exceed the limit of %d bytes (ingest.max_annotation_bytes)", len(a.GeneratorURL), d.maxURL)
	}
	var ok bool
	if a.StartsAt, ok = tc.start.parse(startsAt); !ok {
		return alertErr(join(p, "startsAt"), "invalid time %q (want RFC 3339)", startsAt)
	}
	if !d.timeOK(a.StartsAt, now) {
		return d.timeErr(p, "startsAt", a.StartsAt, startsAt, now)
	}
	if a.EndsAt, ok = tc.end.parse(endsAt); !ok {
		return alertErr(join(p, "endsAt"), "invalid time %q (want RFC 3339)", endsAt)
	}
	if !d.timeOK(a.EndsAt, now) {
		return d.timeErr(p, "endsAt", a.EndsAt, endsAt, now)
	}
	if !a.StartsAt.IsZero() && !a.EndsAt.IsZero() && a.EndsAt.Before(a.StartsAt) {
		return alertErr(join(p, "endsAt"), "before startsAt (%s < %s)", endsAt, startsAt)
	}
	if a.StartsAt.IsZero() {
		// As Alertmanager: a resolved alert without a start started when it ended.
		if !a.EndsAt.IsZero() && !a.EndsAt.After(now) {
			a.StartsAt = a.EndsAt
		} else {
			a.StartsAt = now
		}
	}
	return nil
}

// checkLabels checks and normalises an alert's labels in place: valid
// names, the limits, empty values and the drop labels removed, an
// alertname.
func (d *Decoder) checkLabels(p string, ls model.LabelSet) *Error {
	if ls == nil {
		return alertErr(join(p, "labels"), "missing")
	}
	if err := cleanSet(p, "labels", ls, &d.sets[0], d.drop); err != nil {
		return err
	}
	if len(ls) == 0 {
		return alertErr(join(p, "labels"), "empty label set")
	}
	if ls["alertname"] == "" {
		return alertErr(join(p, "labels.alertname"), "missing (Sift requires an alertname label)")
	}
	return nil
}

// event is Sift's generic JSON event; see EVENTS.md.
type event struct {
	Name        string         `json:"name"`
	Service     string         `json:"service"`
	Host        string         `json:"host"`
	Severity    string         `json:"severity"`
	Status      string         `json:"status"`
	Summary     string         `json:"summary"`
	Description string         `json:"description"`
	RunbookURL  string         `json:"runbook_url"`
	Time        string         `json:"time"`
	EndTime     string         `json:"end_time"`
	Source      string         `json:"source"`
	URL         string         `json:"url"`
	Labels      model.LabelSet `json:"labels"`
	Annotations model.LabelSet `json:"annotations"`
}

// DecodeEvent decodes generic events received at now: one JSON object or
// an array of them, with these fields (unknown fields are rejected, to
// catch typos):
//
//	name         required (or labels.alertname); becomes the alertname label
//	service      label service
//	host         label host
//	severity     label severity, lower-cased (critical, warning, info, ...)
//	source       label source: the emitting system (zabbix, nagios, ...)
//	status       "firing" (default) or "resolved"
//	summary      annotation summary
//	description  annotation description
//	runbook_url  annotation runbook_url
//	time         RFC 3339 start time (default: receipt time)
//	end_time     RFC 3339 end time (optional)
//	url          generatorURL: link back to the emitting system
//	labels       more labels (object of strings)
//	annotations  more annotations (object of strings)
//
// A field that is also given in labels/annotations must agree with it.
// Status is authoritative as for webhooks: "resolved" ends the alert at
// end_time if that is not after the receipt time, else at the receipt
// time; "firing" ignores an end_time that is not after the receipt time.
// Then the validation common to every format applies (see the package
// documentation), so an event and a Prometheus alert with the same labels
// have the same fingerprint.
func (d *Decoder) DecodeEvent(data []byte, now time.Time) ([]model.Alert, error) {
	var raws []json.RawMessage
	single := false
	switch firstByte(data) {
	case 0:
		return nil, errEmptyBody()
	case '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, jsonErr("", err)
		}
	case '{':
		single = true
		var raw json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, jsonErr("", err)
		}
		raws = []json.RawMessage{raw}
	default:
		return nil, &Error{Msg: "expected a JSON event object or an array of them", reason: ReasonInvalidJSON}
	}
	if err := checkUTF8(data); err != nil {
		return nil, err.withCount(len(raws))
	}
	if err := d.checkCount(len(raws), ""); err != nil {
		return nil, err.withCount(len(raws))
	}
	out := make([]model.Alert, len(raws))
	tc := newTimeCaches()
	for i, raw := range raws {
		p := index("", i, single)
		var ev event
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
				return nil, alertErr(join(p, strings.Trim(msg, `"`)), "unknown field (see EVENTS.md for the event fields)").withCount(len(raws))
			}
			return nil, jsonErr(p, err).withCount(len(raws))
		}
		if err := d.eventAlert(p, &ev, &out[i], now, tc); err != nil {
			return nil, err.withCount(len(raws))
		}
	}
	return out, nil
}

func (d *Decoder) eventAlert(p string, ev *event, a *model.Alert, now time.Time, tc *timeCaches) *Error {
	if ev.Status != "" && ev.Status != model.StatusFiring && ev.Status != model.StatusResolved {
		return alertErr(join(p, "status"), "invalid status %q (want firing or resolved)", ev.Status)
	}
	labels := ev.Labels
	if labels == nil {
		labels = make(model.LabelSet, 5)
	}
	if err := merge(p, labels, "labels", "alertname", "name", ev.Name); err != nil {
		return err
	}
	if labels["alertname"] == "" {
		return alertErr(join(p, "name"), "missing (an event needs a name, which becomes its alertname)")
	}
	for _, f := range [...]struct{ label, field, v string }{
		{"service", "service", ev.Service},
		{"host", "host", ev.Host},
		{"severity", "severity", strings.ToLower(strings.TrimSpace(ev.Severity))},
		{"source", "source", ev.Source},
	} {
		if err := merge(p, labels, "labels", f.label, f.field, f.v); err != nil {
			return err
		}
	}
	ann := ev.Annotations
	if ev.Summary != "" || ev.Description != "" || ev.RunbookURL != "" {
		if ann == nil {
			ann = make(model.LabelSet, 3)
		}
		for _, f := range [...]struct{ label, v string }{
			{"summary", ev.Summary}, {"description", ev.Description}, {"runbook_url", ev.RunbookURL},
		} {
			if err := merge(p, ann, "annotations", f.label, f.label, f.v); err != nil {
				return err
			}
		}
	}
	a.Labels, a.Annotations, a.GeneratorURL = labels, ann, ev.URL
	if err := d.finish(p, a, ev.Time, ev.EndTime, now, tc); err != nil {
		// Report problems under the event's own field names.
		switch err.Field {
		case join(p, "startsAt"):
			err.Field = join(p, "time")
		case join(p, "endsAt"):
			err.Field = join(p, "end_time")
			err.Msg = strings.Replace(err.Msg, "before startsAt", "before time", 1)
		case join(p, "generatorURL"):
			err.Field = join(p, "url")
		}
		for _, f := range [...]struct{ set, name, field, v string }{
			{"labels", "alertname", "name", ev.Name},
			{"labels", "service", "service", ev.Service},
			{"labels", "host", "host", ev.Host},
			{"labels", "severity", "severity", ev.Severity},
			{"labels", "source", "source", ev.Source},
			{"annotations", "summary", "summary", ev.Summary},
			{"annotations", "description", "description", ev.Description},
			{"annotations", "runbook_url", "runbook_url", ev.RunbookURL},
		} {
			if f.v != "" && err.Field == join(p, f.set+"."+f.name) {
				err.Field = join(p, f.field)
			}
		}
		return err
	}
	applyStatus(a, ev.Status, now)
	return nil
}

// merge sets set[name] = v (when v is not empty) unless set already holds
// a different value.
func merge(p string, set model.LabelSet, setName, name, field, v string) *Error {
	if v == "" {
		return nil
	}
	if old, ok := set[name]; ok && old != "" && old != v {
		return alertErr(join(p, field), "%q conflicts with %s.%s %q", v, setName, name, old)
	}
	set[name] = v
	return nil
}
