package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Rejection reasons reported by (*Error).Reason, also used as the reason
// label of the sift_alerts_rejected_total metric.
const (
	ReasonInvalidJSON   = "invalid_json"    // body is not JSON of the expected shape
	ReasonInvalidAlert  = "invalid_alert"   // an alert failed validation
	ReasonEmptyBatch    = "empty_batch"     // no alerts at all
	ReasonTooManyAlerts = "too_many_alerts" // more than Config.MaxBatch alerts
	ReasonUnknownFormat = "unknown_format"  // Decode called with an unknown format
	ReasonTooLarge      = "too_large"       // an alert exceeds a per-alert limit (max_labels_per_alert, max_label_bytes, ...)
)

// Error is a decoding or validation error. Field names the offending part
// of the input as a path such as `alerts[3].labels.alertname` or
// `[2].startsAt` (empty when the problem is the body as a whole); Msg says
// what is wrong with it.
type Error struct {
	Field string
	Msg   string

	reason string
	n      int
}

// Alerts returns the number of alerts in the rejected batch when the body
// could be parsed far enough to count them, 0 otherwise.
func (e *Error) Alerts() int { return e.n }

func (e *Error) withCount(n int) *Error {
	e.n = n
	return e
}

// Error renders "field: msg", or just msg when there is no field.
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Reason classifies the error (one of the Reason* constants).
func (e *Error) Reason() string {
	if e.reason == "" {
		return ReasonInvalidAlert
	}
	return e.reason
}

func alertErr(field, format string, args ...any) *Error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...), reason: ReasonInvalidAlert}
}

// limitErr is an alert beyond a per-alert limit (ReasonTooLarge).
func limitErr(field, format string, args ...any) *Error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...), reason: ReasonTooLarge}
}

// jsonErr converts an encoding/json error into an *Error giving the byte
// offset. prefix is prepended to the field path of type errors.
func jsonErr(prefix string, err error) *Error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// encoding/json counts the offending byte as read; report its own
		// (0-based) offset, or the length of the input if it ended early.
		off := se.Offset
		if off > 0 && !strings.HasPrefix(se.Error(), "unexpected end") {
			off--
		}
		return &Error{Msg: fmt.Sprintf("invalid JSON at byte offset %d: %s", off, se.Error()), reason: ReasonInvalidJSON}
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := ute.Field
		if prefix != "" && field != "" {
			field = prefix + "." + field
		} else if prefix != "" {
			field = prefix
		}
		return &Error{Field: field, Msg: fmt.Sprintf("invalid JSON at byte offset %d: cannot use a JSON %s as %s", ute.Offset, ute.Value, ute.Type), reason: ReasonInvalidJSON}
	}
	return &Error{Field: prefix, Msg: "invalid JSON: " + err.Error(), reason: ReasonInvalidJSON}
}
