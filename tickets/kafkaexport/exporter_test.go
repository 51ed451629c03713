package kafkaexport

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/ingest/kafka"
	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
	"github.com/sift-aiops/sift/pipeline"
)

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// TestIncidentsTopic runs the whole loop over a real Kafka protocol:
// alerts produced to the alerts topic -> Sift's consumer -> durable
// pipeline -> correlation -> this exporter -> incidents topic, read back
// with a consumer group. Opened, classified and resolved events must be
// there, keyed by incident id, as schema v1 JSON, in order per incident.
func TestIncidentsTopic(t *testing.T) {
	b, err := kafka.StartDevBroker(kafka.DevBrokerOptions{Partitions: 4, Topics: []string{"alerts", "sift.incidents"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := kafka.Config{Brokers: b.Addrs(), Group: "exp", BatchWait: 10 * time.Millisecond,
		HeartbeatInterval: 300 * time.Millisecond, SessionTimeout: 6 * time.Second}
	reg := prometheus.NewRegistry()
	exp, err := New(cfg, reg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	dataDir := t.TempDir()
	p, err := pipeline.Open(pipeline.Options{DataDir: dataDir, Logger: quiet(), Registerer: reg}, exp)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := kafka.Start(context.Background(), cfg, nil, p, p, reg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Two clusters, three alerts each: correlation makes at least one
	// incident per cluster.
	start := time.Now().Add(-2 * time.Minute).UTC()
	var msgs []kafkago.Message
	alert := func(cluster string, i int, ends time.Time) []byte {
		end := ""
		if !ends.IsZero() {
			end = fmt.Sprintf(`,"endsAt":%q`, ends.Format(time.RFC3339))
		}
		return fmt.Appendf(nil, `{"labels":{"alertname":"NodeDown","cluster":%q,"instance":"n%d","service":"node"},"startsAt":%q%s}`,
			cluster, i, start.Format(time.RFC3339), end)
	}
	for _, cl := range []string{"east", "west"} {
		for i := 0; i < 3; i++ {
			msgs = append(msgs, kafkago.Message{Key: []byte(cl), Value: alert(cl, i, time.Time{})})
		}
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(b.Addrs()...), Topic: "alerts", Balancer: &kafkago.Hash{}, BatchTimeout: time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "alerts consumed", func() bool { return c.Stats().Committed == 6 })

	var incidents []*model.Incident
	p.View(func(e *correlate.Engine) { incidents = e.All() })
	if len(incidents) == 0 {
		t.Fatal("no incident opened")
	}
	// Classify one incident (as the classify stage or an agent would).
	target := incidents[0].ID
	if _, err := p.Act(context.Background(), model.Action{Kind: model.ActionClassify, Incident: target, Actor: "test",
		Class: &model.Classification{Team: "infra", Category: "node", Priority: "P2", Confidence: 0.9, Sources: []string{"rule:test"}}}); err != nil {
		t.Fatal(err)
	}
	// Resolve everything: the same alerts with endsAt in the past.
	msgs = msgs[:0]
	for _, cl := range []string{"east", "west"} {
		for i := 0; i < 3; i++ {
			msgs = append(msgs, kafkago.Message{Key: []byte(cl), Value: alert(cl, i, time.Now().Add(-time.Second).UTC())})
		}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "resolutions consumed", func() bool { return c.Stats().Committed == 12 })
	var open int
	p.View(func(e *correlate.Engine) {
		incidents = e.All()
		for _, inc := range incidents {
			if inc.Status != model.IncidentResolved {
				open++
			}
		}
	})
	if open != 0 {
		t.Fatalf("%d incidents still open after all alerts resolved", open)
	}

	// Read the incidents topic until every incident's resolved event is there.
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: b.Addrs(), Topic: "sift.incidents", GroupID: "reader",
		StartOffset: kafkago.FirstOffset, MaxWait: 100 * time.Millisecond, HeartbeatInterval: 300 * time.Millisecond, JoinGroupBackoff: 200 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	types := map[string][]string{} // incident id -> event types in order
	resolved := 0
	var latest time.Time
	for resolved < len(incidents) {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("reading sift.incidents: %v (so far %v)", err, types)
		}
		var ev Event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("event at offset %d is not JSON: %v", m.Offset, err)
		}
		if ev.Schema != Schema || ev.Incident == nil || ev.At.IsZero() {
			t.Fatalf("event %s: schema %q, incident %v, at %v", m.Value, ev.Schema, ev.Incident, ev.At)
		}
		if string(m.Key) != ev.Incident.ID {
			t.Errorf("key %q, want the incident id %q", m.Key, ev.Incident.ID)
		}
		hdr := map[string]string{}
		for _, h := range m.Headers {
			hdr[h.Key] = string(h.Value)
		}
		if hdr[HeaderSchema] != Schema || hdr[HeaderEventType] != ev.Type || hdr[HeaderIncident] != ev.Incident.ID {
			t.Errorf("headers %v do not match event %s of %s", hdr, ev.Type, ev.Incident.ID)
		}
		types[ev.Incident.ID] = append(types[ev.Incident.ID], ev.Type)
		if ev.At.After(latest) {
			latest = ev.At
		}
		switch ev.Type {
		case model.EventResolved:
			resolved++
			if ev.Incident.Status != model.IncidentResolved {
				t.Errorf("resolved event with incident status %q", ev.Incident.Status)
			}
		case model.EventClassified:
			if ev.Incident.Class == nil || ev.Incident.Class.Team != "infra" || ev.Incident.Class.Priority != "P2" {
				t.Errorf("classified event without the classification: %+v", ev.Incident.Class)
			}
		case model.EventOpened:
			if len(ev.Incident.Members) == 0 || ev.Incident.Members[0].Name != "NodeDown" {
				t.Errorf("opened event without members: %s", m.Value)
			}
		}
	}
	for _, inc := range incidents {
		seq := types[inc.ID]
		if len(seq) == 0 || seq[0] != model.EventOpened || seq[len(seq)-1] != model.EventResolved {
			t.Errorf("incident %s: events %v, want opened first and resolved last", inc.ID, seq)
		}
	}
	if !contains(types[target], model.EventClassified) {
		t.Errorf("incident %s: events %v, want a classified event", target, types[target])
	}
	t.Logf("%d incidents; events: %v", len(incidents), types)

	// What Kafka acknowledged is the pipeline's mark for a resync after a
	// crash, and reaches the data directory.
	testenv.WaitFor(t, 10*time.Second, "delivered mark", func() bool { d, ok := exp.Delivered(); return ok && d.Equal(latest) })
	testenv.WaitFor(t, 10*time.Second, "mark on disk", func() bool {
		b, _ := os.ReadFile(filepath.Join(dataDir, "exported"))
		m, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
		return err == nil && m.Equal(latest)
	})

	published := testenv.MetricSum(t, reg, "sift_kafka_incident_events_published_total")
	total := 0
	for _, s := range types {
		total += len(s)
	}
	if published < float64(total) {
		t.Errorf("sift_kafka_incident_events_published_total = %v, but %d events were read", published, total)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestNewRefusesDisabled(t *testing.T) {
	if _, err := New(kafka.Config{}, nil, nil); err == nil {
		t.Error("New without brokers must fail")
	}
	off := false
	if _, err := New(kafka.Config{Brokers: []string{"127.0.0.1:1"}, PublishIncidents: &off}, nil, nil); err == nil {
		t.Error("New with publish_incidents: false must fail")
	}
	if _, err := Encode(model.IncidentEvent{Type: model.EventOpened}); err == nil {
		t.Error("Encode of an event without incident must fail")
	}
	m, err := Encode(model.IncidentEvent{Type: model.EventOpened, At: time.Unix(0, 0), Incident: &model.Incident{ID: "inc-1", Title: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(m.Value, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "type", "at", "incident"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("encoded event lacks %q: %s", k, m.Value)
		}
	}
}

// TestUnreachableKafkaDoesNotBlock: with no broker listening, Export
// returns at once (events are queued), and once the queue is full new
// events are dropped with an error and counted, never blocking the pipeline.
func TestUnreachableKafkaDoesNotBlock(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := New(kafka.Config{Brokers: []string{"127.0.0.1:1"}}, reg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ev := []model.IncidentEvent{{Type: model.EventOpened, At: time.Now(), Incident: &model.Incident{ID: "INC-1"}}}
	start := time.Now()
	var firstErr error
	n := 0
	for ; n < QueueSize+10 && firstErr == nil; n++ {
		firstErr = e.Export(context.Background(), ev)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("%d Export calls took %s with Kafka unreachable; they must not wait for Kafka", n, time.Since(start))
	}
	if firstErr == nil {
		t.Fatalf("no error after %d exports to an unreachable Kafka with a queue of %d", n, QueueSize)
	}
	if n < QueueSize {
		t.Errorf("dropped after only %d exports; the queue holds %d", n, QueueSize)
	}
	var dropped float64
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "sift_kafka_incident_events_dropped_total" {
			dropped = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if dropped < 1 {
		t.Errorf("sift_kafka_incident_events_dropped_total = %v, want >= 1", dropped)
	}
	t.Logf("first drop after %d exports: %v", n, firstErr)
	e.closeWait = 500 * time.Millisecond
	done := make(chan struct{})
	go func() { e.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return within 20s with Kafka unreachable")
	}
	if err := e.Export(context.Background(), ev); err == nil {
		t.Error("Export after Close must fail")
	}
}
