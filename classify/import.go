package classify

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ImportColumns are the columns (CSV header names, NDJSON keys) Import
// understands; see IMPORT.md.
var ImportColumns = []string{"id", "title", "description", "service", "alertnames", "team", "category", "resolution", "opened_at"}

// Rejected is one input row Import did not load.
type Rejected struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// ImportReport is the outcome of an import.
type ImportReport struct {
	Imported int           `json:"imported"`
	Rejected []Rejected    `json:"rejected,omitempty"`
	Ignored  []string      `json:"ignored_columns,omitempty"` // CSV header columns not understood
	Elapsed  time.Duration `json:"elapsed"`
}

// Rate is the index build rate in rows per second.
func (r *ImportReport) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Imported) / r.Elapsed.Seconds()
}

// RejectedError is returned by Import when some rows were rejected (the
// others were imported).
type RejectedError struct{ Rows []Rejected }

func (e *RejectedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows rejected", len(e.Rows))
	for i, r := range e.Rows {
		if i == 3 {
			fmt.Fprintf(&b, "; ...")
			break
		}
		fmt.Fprintf(&b, "; line %d: %s", r.Line, r.Reason)
	}
	return b.String()
}

// Import loads historical tickets ("csv" or "ndjson", columns in
// ImportColumns and IMPORT.md) into the index. n is the number of rows
// imported; err is a *RejectedError when rows were rejected, or another
// error when the input could not be read at all.
func (c *Classifier) Import(r io.Reader, format string) (n int, err error) {
	rep, err := c.ImportReport(r, format)
	if rep != nil {
		n = rep.Imported
	}
	if err == nil && rep != nil && len(rep.Rejected) > 0 {
		err = &RejectedError{Rows: rep.Rejected}
	}
	return n, err
}

const importBatch = 500

// ImportReport is Import with the full report: rows imported, rows
// rejected with line numbers and reasons, and the time taken. The error
// is only for input that cannot be read at all (unknown format, missing
// CSV header, I/O error, index failure); rows are reported, not fatal.
func (c *Classifier) ImportReport(r io.Reader, format string) (*ImportReport, error) {
	rep := &ImportReport{}
	start := time.Now()
	b := c.idx.NewBatch()
	pending := 0
	flush := func() error {
		if pending == 0 {
			return nil
		}
		if err := c.idx.Batch(b); err != nil {
			return fmt.Errorf("classify: import: index: %w", err)
		}
		rep.Imported += pending
		pending = 0
		b.Reset()
		return nil
	}
	row := func(line int, p *PastIncident, perr error) error {
		if perr == nil {
			perr = c.check(p)
		}
		if perr != nil {
			rep.Rejected = append(rep.Rejected, Rejected{Line: line, Reason: perr.Error()})
			return nil
		}
		if err := b.Index(p.ID, c.cfg.toDoc(p, nil)); err != nil {
			rep.Rejected = append(rep.Rejected, Rejected{Line: line, Reason: err.Error()})
			return nil
		}
		pending++
		if pending >= importBatch {
			return flush()
		}
		return nil
	}
	var err error
	switch strings.ToLower(format) {
	case "csv":
		err = readCSV(r, rep, row)
	case "ndjson", "jsonl", "json":
		err = readNDJSON(r, row)
	default:
		return nil, fmt.Errorf("classify: import: unknown format %q (want csv or ndjson)", format)
	}
	if err == nil {
		err = flush()
	}
	rep.Elapsed = time.Since(start)
	return rep, err
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, f := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(f, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("opened_at %q: want RFC 3339 (2024-05-01T10:00:00Z), \"2006-01-02 15:04:05\" or a date", s)
}

func splitNames(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '|' || r == ',' || r == ' ' || r == '\t' || r == '\n' })
	return f
}

func fromFields(get func(string) string) (*PastIncident, error) {
	p := &PastIncident{
		ID:          strings.TrimSpace(get("id")),
		Title:       strings.TrimSpace(get("title")),
		Description: strings.TrimSpace(get("description")),
		Service:     strings.TrimSpace(get("service")),
		AlertNames:  splitNames(get("alertnames")),
		Team:        strings.TrimSpace(get("team")),
		Category:    strings.TrimSpace(get("category")),
		Resolution:  strings.TrimSpace(get("resolution")),
	}
	t, err := parseTime(get("opened_at"))
	if err != nil {
		return nil, err
	}
	p.OpenedAt = t
	return p, nil
}

func readCSV(r io.Reader, rep *ImportReport, row func(int, *PastIncident, error) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return errors.New("classify: import: empty CSV (want a header row: " + strings.Join(ImportColumns, ",") + ")")
	}
	if err != nil {
		return fmt.Errorf("classify: import: CSV header: %w", err)
	}
	col := map[string]int{}
	known := set(ImportColumns)
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !known[h] {
			rep.Ignored = append(rep.Ignored, h)
			continue
		}
		if _, dup := col[h]; dup {
			return fmt.Errorf("classify: import: CSV header: column %q appears twice", h)
		}
		col[h] = i
	}
	if _, ok := col["id"]; !ok {
		return fmt.Errorf("classify: import: CSV header has no id column (got %q; want %s)", strings.Join(header, ","), strings.Join(ImportColumns, ","))
	}
	_, hasTeam := col["team"]
	_, hasCat := col["category"]
	if !hasTeam && !hasCat {
		return errors.New("classify: import: CSV header has neither a team nor a category column: nothing to learn")
	}
	badRun := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				badRun++
				if badRun > 1000 {
					return fmt.Errorf("classify: import: giving up after 1000 unreadable CSV rows in a row: %w", err)
				}
				if err := row(pe.StartLine, nil, fmt.Errorf("bad CSV: %v", pe.Err)); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("classify: import: %w", err)
		}
		badRun = 0
		if len(rec) != len(header) {
			if err := row(line, nil, fmt.Errorf("has %d fields, the header has %d", len(rec), len(header))); err != nil {
				return err
			}
			continue
		}
		p, perr := fromFields(func(name string) string {
			if i, ok := col[name]; ok {
				return rec[i]
			}
			return ""
		})
		if err := row(line, p, perr); err != nil {
			return err
		}
	}
}

const maxLine = 1 << 20

func readNDJSON(r io.Reader, row func(int, *PastIncident, error) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	for {
		raw, err := br.ReadSlice('\n')
		var long []byte
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(raw) <= maxLine {
				long = append(long, raw...)
			}
			raw, err = br.ReadSlice('\n')
		}
		if long != nil {
			if len(long)+len(raw) <= maxLine {
				long = append(long, raw...)
			}
			raw = long
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("classify: import: line %d: %w", line+1, err)
		}
		if len(raw) == 0 && err == io.EOF {
			return nil
		}
		line++
		text := bytes.TrimSpace(raw)
		if len(text) > 0 {
			var rerr error
			var p *PastIncident
			if len(raw) > maxLine {
				rerr = fmt.Errorf("line longer than %d bytes", maxLine)
			} else {
				p, rerr = parseNDJSONRow(text)
			}
			if e := row(line, p, rerr); e != nil {
				return e
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

func parseNDJSONRow(text []byte) (*PastIncident, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(text, &m); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	str := map[string]string{}
	var names []string
	var labels map[string]string
	for k, v := range m {
		switch k {
		case "alertnames":
			var list []string
			if err := json.Unmarshal(v, &list); err == nil {
				names = list
				continue
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, errors.New("alertnames: want a string or an array of strings")
			}
			names = splitNames(s)
		case "labels":
			if err := json.Unmarshal(v, &labels); err != nil {
				return nil, errors.New("labels: want an object of string values")
			}
		default:
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				if string(v) == "null" {
					continue
				}
				return nil, fmt.Errorf("%s: want a string", k)
			}
			str[k] = s
		}
	}
	p, err := fromFields(func(n string) string { return str[n] })
	if err != nil {
		return nil, err
	}
	if names != nil {
		p.AlertNames = names
	}
	p.Labels = labels
	return p, nil
}
