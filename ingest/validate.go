package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sift-aiops/sift/model"
)

// setLimits bounds one kind of set (labels or annotations) of an alert.
type setLimits struct {
	what        string // "label", "annotation"
	count       int    // entries, after empty values (and drop_labels) are removed
	name, value int    // bytes of one name, of one value
	countKey    string // the configuration keys, named in errors
	valueKey    string
}

// cleanSet checks the names and the limits of ls (field set of the alert
// p), drops empty values and then the names in drop. On error ls may have
// lost some empty values.
//
// The field path is only built for an error: building it for every alert
// would cost allocations on the fast path.
func cleanSet(p, set string, ls model.LabelSet, lim *setLimits, drop []string) *Error {
	maxName, maxValue := lim.name, lim.value
	for n, v := range ls {
		if len(n) > maxName || len(v) > maxValue || !model.ValidLabelName(n) {
			return firstBad(join(p, set), ls, lim)
		}
		if v == "" {
			delete(ls, n)
		}
	}
	for _, n := range drop {
		delete(ls, n)
	}
	if len(ls) > lim.count {
		return limitErr(join(p, set), "%d %ss exceed the limit of %d per alert (ingest.%s)", len(ls), lim.what, lim.count, lim.countKey)
	}
	return nil
}

// firstBad reports the problem with the alphabetically first bad name of
// ls (too long, invalid, or with a value too long), so that the error
// does not depend on map order. Only empty values have been removed from
// ls, and they had valid names.
func firstBad(field string, ls model.LabelSet, lim *setLimits) *Error {
	var names []string
	for n, v := range ls {
		if len(n) > lim.name || len(v) > lim.value || !model.ValidLabelName(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	n := names[0]
	switch {
	case len(n) > lim.name:
		return limitErr(field, "%s name of %d bytes (%.40q...) exceeds the limit of %d bytes (ingest.max_label_bytes)", lim.what, len(n), n, lim.name)
	case !model.ValidLabelName(n):
		return alertErr(field+"."+strconv.Quote(n), "invalid label name")
	}
	return limitErr(field+"."+n, "value of %d bytes exceeds the limit of %d bytes (ingest.%s)", len(ls[n]), lim.value, lim.valueKey)
}

// timeOK reports whether t is unset (zero) or neither before MinTime nor
// more than maxFuture after now (unless now is zero). It compares Unix
// seconds first: most times are far inside the range.
func (d *Decoder) timeOK(t, now time.Time) bool {
	if t.IsZero() {
		return true
	}
	sec := t.Unix()
	return sec >= minUnix && (now.IsZero() || sec-now.Unix() < d.maxFutureSec || t.Sub(now) <= d.maxFuture)
}

// timeErr is the error for a time t (field name of the alert p, parsed
// from s) that is not timeOK.
func (d *Decoder) timeErr(p, name string, t time.Time, s string, now time.Time) *Error {
	if t.Unix() < minUnix {
		return alertErr(join(p, name), "%q is before %s, the earliest time accepted", s, MinTime.Format(time.RFC3339))
	}
	return alertErr(join(p, name), "%q is more than %s after the receipt time %s (ingest.max_future)", s, Duration(d.maxFuture), now.UTC().Format(time.RFC3339))
}

// checkUTF8 returns an error naming the first string of data that is not
// valid UTF-8, or nil if data is valid UTF-8. data must be valid JSON
// (encoding/json accepted it): it decodes invalid bytes as U+FFFD, which
// would hide them, so the raw bytes are checked.
func checkUTF8(data []byte) *Error {
	if utf8.Valid(data) {
		return nil
	}
	type frame struct {
		path    string
		array   bool
		idx     int
		key     string
		wantKey bool
	}
	// elem is the path of the current value of the innermost container.
	elem := func(f *frame) string {
		if f.array {
			return f.path + "[" + strconv.Itoa(f.idx) + "]"
		}
		return join(f.path, fieldName(f.key))
	}
	var stack []frame
	done := func() { // a value of the innermost container is complete
		if len(stack) == 0 {
			return
		}
		f := &stack[len(stack)-1]
		if f.array {
			f.idx++
		} else {
			f.wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var off int64
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		end := dec.InputOffset()
		raw := data[off:end]
		off = end
		path := ""
		inKey := false
		if len(stack) > 0 {
			f := &stack[len(stack)-1]
			inKey = !f.array && f.wantKey
			if !inKey {
				path = elem(f)
			} else {
				path = f.path
			}
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				stack = append(stack, frame{path: path, array: tok == '[', wantKey: tok == '{'})
			default:
				stack = stack[:len(stack)-1]
				done()
			}
		case string:
			if !utf8.Valid(raw) {
				i := invalidAt(raw)
				at := end - int64(len(raw)) + int64(i)
				if inKey {
					return alertErr(join(path, fieldName(tok)), "name is not valid UTF-8 (byte 0x%02x at offset %d; JSON must be UTF-8)", raw[i], at)
				}
				return alertErr(path, "not valid UTF-8 (byte 0x%02x at offset %d; JSON must be UTF-8)", raw[i], at)
			}
			if inKey {
				stack[len(stack)-1].key, stack[len(stack)-1].wantKey = tok, false
			} else {
				done()
			}
		default:
			done()
		}
	}
	return &Error{Msg: "not valid UTF-8 (JSON must be UTF-8)", reason: ReasonInvalidJSON}
}

// invalidAt returns the index of the first byte of b that is not part of
// valid UTF-8.
func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// fieldName renders an object key in a field path: as it is when it is a
// label name (labels.alertname), else quoted and, if long, cut.
func fieldName(k string) string {
	if model.ValidLabelName(k) && len(k) <= 128 {
		return k
	}
	if len(k) > 128 {
		return fmt.Sprintf("%.40q...", k)
	}
	return strconv.Quote(k)
}
