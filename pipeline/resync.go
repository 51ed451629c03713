package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sift-aiops/sift/model"
)

// Incident events reach an exporter after the records that caused them
// are durable, but an exporter that delivers them elsewhere (Kafka) holds
// them for a while first: a crash loses what it held. An exporter that
// can tell how far it got implements Acknowledger; the pipeline keeps
// that mark on disk (exportedFile) and, when Resync is called after a
// restart, sends the current state of every incident that changed after
// it again. Consumers see such an incident at least once more, never
// less.

// Acknowledger is implemented by exporters that deliver events elsewhere
// and can tell how far they got.
type Acknowledger interface {
	// Delivered returns the event time of the last event delivered, when
	// every event handed over before it was delivered (or given up by
	// design) too; the zero time if none was delivered yet. ok is false
	// if the exporter delivers nowhere that could lose events (a stage
	// that only passes them on to such exporters, when it has none).
	Delivered() (t time.Time, ok bool)
}

// exportedFile, in the data directory, holds the delivered mark.
const exportedFile = "exported"

// resyncMargin: events are not strictly ordered by event time (an alert
// resolves at its endsAt, a recheck acts at its due time), so a resync
// also covers incidents that changed this long before the mark.
func (p *Pipeline) resyncMargin() time.Duration {
	return time.Duration(p.opts.Correlate.WithDefaults().Window)
}

// acknowledged returns the earliest Delivered of the exporters that
// acknowledge, and whether any does.
func (p *Pipeline) acknowledged() (time.Time, bool) { return EarliestDelivered(p.exporters) }

// EarliestDelivered returns the earliest Delivered of the exporters in xs
// that acknowledge, and whether any does (for a stage that passes events
// on to other exporters).
func EarliestDelivered(xs []Exporter) (time.Time, bool) {
	var mark time.Time
	found := false
	for _, x := range xs {
		a, ok := x.(Acknowledger)
		if !ok {
			continue
		}
		d, ok := a.Delivered()
		if !ok {
			continue
		}
		if !found || d.Before(mark) {
			mark = d
		}
		found = true
	}
	return mark, found
}

func (p *Pipeline) acknowledging() bool {
	_, ok := p.acknowledged()
	return ok
}

// readExported reads the delivered mark; ok is false without one.
func readExported(dir string) (time.Time, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, exportedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("pipeline: %s: %w", filepath.Join(dir, exportedFile), err)
	}
	return t, true, nil
}

// writeExported replaces the delivered mark (write and rename: a crash
// leaves the old mark or the new one, and an old mark only means more is
// sent again).
func writeExported(dir string, t time.Time) error {
	tmp := filepath.Join(dir, exportedFile+".tmp")
	if err := os.WriteFile(tmp, []byte(t.UTC().Format(time.RFC3339Nano)+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, exportedFile))
}

// initExported runs at Open: a data directory that never had a mark
// gets one at the engine's clock (a new directory: the zero time, so all
// of it is sent again after a crash before the first delivery).
func (p *Pipeline) initExported() error {
	if !p.acknowledging() {
		return nil
	}
	mark, ok, err := readExported(p.opts.DataDir)
	if err != nil {
		return err
	}
	if !ok {
		mark = p.eng.Now()
		if err := writeExported(p.opts.DataDir, mark); err != nil {
			return err
		}
	}
	p.exported = mark
	return nil
}

// noteExported moves the mark on disk to what the exporters delivered.
func (p *Pipeline) noteExported() {
	mark, ok := p.acknowledged()
	if !ok || !mark.After(p.exported) {
		return
	}
	if err := writeExported(p.opts.DataDir, mark); err != nil {
		p.log.Warn("export mark not written", "err", err)
		return
	}
	p.exported = mark
}

// Resync sends again, as events, the current state of every incident that
// changed after what the acknowledging exporters had delivered when the
// pipeline last stopped (plus a margin), so that events lost in a crash
// reach them. Call it once after Open, when the exporters are ready; it
// returns how many incidents it sent. An incident resolved since is sent
// as "resolved", one opened since as "opened", any other as "updated".
func (p *Pipeline) Resync() int {
	if !p.acknowledging() {
		return 0
	}
	since := p.exported.Add(-p.resyncMargin())
	var evs []model.IncidentEvent
	p.mu.RLock()
	for _, inc := range p.eng.All() {
		if !inc.UpdatedAt.After(since) {
			continue
		}
		kind := model.EventUpdated
		switch {
		case inc.Status == model.IncidentResolved:
			kind = model.EventResolved
		case inc.OpenedAt.After(since):
			kind = model.EventOpened
		}
		evs = append(evs, model.IncidentEvent{Type: kind, At: inc.UpdatedAt, Incident: inc})
	}
	p.mu.RUnlock()
	if len(evs) > 0 {
		p.log.Info("resending incidents changed since the last delivered event", "since", since, "incidents", len(evs))
		p.publish(exportItem{ev: evs})
	}
	return len(evs)
}
