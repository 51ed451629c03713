package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sift-aiops/sift/ingest/kafka"
)

// sift serve with a kafka section: alerts produced to the topic become
// alerts and incidents in Sift, and incident events appear on the
// incidents topic. The broker is a real Kafka-protocol cluster (kfake).
func TestServeConsumesKafkaAndPublishesIncidents(t *testing.T) {
	b, err := kafka.StartDevBroker(kafka.DevBrokerOptions{Partitions: 4, Topics: []string{"alerts", "sift.incidents"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sift.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("kafka:\n  brokers: [%s]\n  topic: alerts\n  group: sift-test\n  start_offset: earliest\n", strings.Join(b.Addrs(), ", "))), 0o644)
	p := startSift(t, "--data-dir", filepath.Join(dir, "data"), "--config", cfg)

	w := &kafkago.Writer{Addr: kafkago.TCP(b.Addrs()...), Topic: "alerts", Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll, BatchTimeout: 10 * time.Millisecond}
	defer w.Close()
	now := time.Now().UTC()
	var msgs []kafkago.Message
	for i := 0; i < 20; i++ {
		a := alertJSON("QueueBacklog", "orders", fmt.Sprintf("i%d", i), now, now.Add(time.Hour))
		v, _ := json.Marshal(a)
		msgs = append(msgs, kafkago.Message{Key: []byte("orders"), Value: v})
	}
	msgs = append(msgs, kafkago.Message{Key: []byte("orders"), Value: []byte("{not json")})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var alerts []any
	for time.Now().Before(deadline) {
		getJSON(t, p.url+"/api/v2/alerts", &alerts)
		if len(alerts) == 20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(alerts) != 20 {
		t.Fatalf("%d of 20 alerts arrived through Kafka", len(alerts))
	}
	// A group reader sees every partition of the incidents topic.
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: b.Addrs(), GroupID: "incident-reader", Topic: "sift.incidents",
		StartOffset: kafkago.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	found := false
	for !found {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			break
		}
		found = strings.Contains(string(m.Value), `"type":"opened"`)
	}
	if !found {
		t.Fatal("no incident opened event on the incidents topic")
	}
}

// An incident event that Kafka never acknowledged before sift serve was
// killed (-9) is published after the restart: the broker refuses
// produces to the incidents topic while the alert arrives, Sift is
// killed, the broker recovers, and the restarted Sift sends the incident.
func TestServeResendsIncidentEventsLostInACrash(t *testing.T) {
	b, err := kafka.StartDevBroker(kafka.DevBrokerOptions{Partitions: 2, Topics: []string{"alerts", "sift.incidents"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var refuse atomic.Bool
	refuse.Store(true)
	b.Cluster().ControlKey(int16(kmsg.Produce), func(r kmsg.Request) (kmsg.Response, error, bool) {
		b.Cluster().KeepControl()
		req := r.(*kmsg.ProduceRequest)
		if !refuse.Load() || len(req.Topics) == 0 || req.Topics[0].Topic != "sift.incidents" {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			t := kmsg.NewProduceResponseTopic()
			t.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				p := kmsg.NewProduceResponseTopicPartition()
				p.Partition = rp.Partition
				p.ErrorCode = 19 // NOT_ENOUGH_REPLICAS: retriable
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil, true
	})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sift.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("kafka:\n  brokers: [%s]\n  topic: alerts\n  group: sift-crash\n", strings.Join(b.Addrs(), ", "))), 0o644)
	data := filepath.Join(dir, "data")
	p := startSift(t, "--data-dir", data, "--config", cfg)
	now := time.Now().UTC()
	if code, body, err := postJSON(p.url+"/api/v2/alerts", []any{alertJSON("LostInCrash", "billing", "i1", now, now.Add(time.Hour))}); err != nil || code != 200 {
		t.Fatalf("POST: %d %s %v", code, body, err)
	}
	waitIncident(t, p, 10*time.Second, func(title, _ string) bool { return strings.Contains(title, "LostInCrash") })
	time.Sleep(300 * time.Millisecond) // the exporter is retrying against the refusing broker
	p.cmd.Process.Kill()
	p.cmd.Wait()
	refuse.Store(false)

	startSift(t, "--data-dir", data, "--config", cfg)
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: b.Addrs(), GroupID: "crash-reader", Topic: "sift.incidents",
		StartOffset: kafkago.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("no event for the incident after the restart: %v", err)
		}
		if strings.Contains(string(m.Value), "LostInCrash") && strings.Contains(string(m.Value), `"type":"opened"`) {
			return
		}
	}
}
