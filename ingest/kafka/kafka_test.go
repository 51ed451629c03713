package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"gopkg.in/yaml.v3"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
	"github.com/sift-aiops/sift/pipeline"
)

func testLogger() *slog.Logger {
	if os.Getenv("SIFT_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

func startBroker(t testing.TB, partitions int, topics ...string) *DevBroker {
	t.Helper()
	b, err := StartDevBroker(DevBrokerOptions{Partitions: partitions, Topics: topics})
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func openPipeline(t testing.TB, dir string, exporters ...pipeline.Exporter) *pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.Open(pipeline.Options{DataDir: dir, Logger: testLogger()}, exporters...)
	if err != nil {
		t.Fatalf("open pipeline: %v", err)
	}
	return p
}

func testConfig(b *DevBroker, group string) Config {
	return Config{
		Brokers:           b.Addrs(),
		Topic:             "alerts",
		Group:             group,
		BatchSize:         100,
		BatchWait:         20 * time.Millisecond,
		HeartbeatInterval: 300 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		RebalanceTimeout:  6 * time.Second,
	}
}

func start(t testing.TB, cfg Config, p *pipeline.Pipeline, reg prometheus.Registerer) *Consumer {
	t.Helper()
	c, err := Start(context.Background(), cfg, ingest.NewDecoder(ingest.Config{}), p, p, reg, testLogger())
	if err != nil {
		t.Fatalf("start consumer: %v", err)
	}
	return c
}

// amv2 returns one Alertmanager v2 alert object for instance i.
func amv2(i int) []byte {
	return fmt.Appendf(nil, `{"labels":{"alertname":"HighLatency","service":"svc-%d","instance":"host-%d:9100","cluster":"c%d"},`+
		`"annotations":{"summary":"latency high on host-%d"},"startsAt":%q}`, i%50, i, i%4, i, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))
}

func produce(t testing.TB, addrs []string, topic string, msgs ...kafkago.Message) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(addrs...), Topic: topic, Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll,
		BatchTimeout: time.Millisecond, BatchSize: 500, AllowAutoTopicCreation: true}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce %d messages to %s: %v", len(msgs), topic, err)
	}
}

func alertMessages(from, to int) []kafkago.Message {
	var msgs []kafkago.Message
	for i := from; i < to; i++ {
		msgs = append(msgs, kafkago.Message{Key: []byte("c" + strconv.Itoa(i%4)), Value: amv2(i)})
	}
	return msgs
}

func engineStats(p *pipeline.Pipeline) (s correlate.Stats) {
	p.View(func(e *correlate.Engine) { s = e.Stats() })
	return s
}

func knownAlerts(p *pipeline.Pipeline) (n int) {
	p.View(func(e *correlate.Engine) { n, _ = e.AlertCount() })
	return n
}

// committed returns the group's committed offset (next offset to read) per partition.
func committed(t testing.TB, addrs []string, group, topic string, partitions int) map[int]int64 {
	t.Helper()
	cl := &kafkago.Client{Addr: kafkago.TCP(addrs...), Timeout: 10 * time.Second}
	parts := make([]int, partitions)
	for i := range parts {
		parts[i] = i
	}
	resp, err := cl.OffsetFetch(context.Background(), &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.CommittedOffset >= 0 {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out
}

// readTopic reads want messages from every partition of topic from the start.
func readTopic(t testing.TB, addrs []string, topic string, want int) []kafkago.Message {
	t.Helper()
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: addrs, Topic: topic, GroupID: "reader-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		StartOffset: kafkago.FirstOffset, MaxWait: 200 * time.Millisecond, HeartbeatInterval: 300 * time.Millisecond,
		SessionTimeout: 6 * time.Second, JoinGroupBackoff: 200 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []kafkago.Message
	for len(out) < want {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("read %s: got %d of %d messages: %v", topic, len(out), want, err)
		}
		out = append(out, m)
	}
	// Nothing more than want.
	extra, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	if m, err := r.FetchMessage(extra); err == nil {
		t.Fatalf("read %s: more than %d messages, e.g. offset %d of partition %d", topic, want, m.Offset, m.Partition)
	}
	return out
}

func header(m kafkago.Message, k string) (string, bool) {
	for _, h := range m.Headers {
		if h.Key == k {
			return string(h.Value), true
		}
	}
	return "", false
}

// TestEndToEnd produces alerts in all three formats over 8 partitions and
// checks that every one is in the pipeline exactly once, that offsets are
// committed to the end and that the cursors match them.
func TestEndToEnd(t *testing.T) {
	b := startBroker(t, 8, "alerts")
	p := openPipeline(t, t.TempDir())
	defer p.Close()
	reg := prometheus.NewRegistry()
	c := start(t, testConfig(b, "e2e"), p, reg)
	defer c.Close()

	const n = 3000
	msgs := alertMessages(0, n) // n amv2 single objects
	// an amv2 array with two alerts, a webhook with two, and a generic event
	msgs = append(msgs,
		kafkago.Message{Key: []byte("c1"), Value: []byte(`[{"labels":{"alertname":"DiskFull","instance":"a"}},{"labels":{"alertname":"DiskFull","instance":"b"}}]`)},
		kafkago.Message{Key: []byte("c2"), Value: []byte(`{"version":"4","status":"firing","receiver":"r","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","groupKey":"{}:{}","alerts":[` +
			`{"status":"firing","labels":{"alertname":"WebhookA","job":"x"},"annotations":{},"startsAt":"2026-11-25T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"0000000000000001"},` +
			`{"status":"firing","labels":{"alertname":"WebhookB","job":"x"},"annotations":{},"startsAt":"2026-11-25T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"0000000000000002"}]}`)},
		kafkago.Message{Key: []byte("c3"), Value: []byte(`{"name":"QueueBacklog","service":"billing","severity":"warning","summary":"backlog growing"}`)},
	)
	produce(t, b.Addrs(), "alerts", msgs...)
	total := n + 2 + 2 + 1
	testenv.WaitFor(t, 60*time.Second, "all messages committed", func() bool { return c.Stats().Committed == uint64(len(msgs)) })

	if got := knownAlerts(p); got != total {
		t.Errorf("pipeline knows %d alerts, want %d", got, total)
	}
	if got := engineStats(p).Alerts; got != uint64(total) {
		t.Errorf("engine applied %d notifications, want %d (each exactly once)", got, total)
	}
	names := map[string]bool{}
	for _, a := range p.Alerts() {
		names[a.Name()] = true
	}
	for _, want := range []string{"HighLatency", "DiskFull", "WebhookA", "WebhookB", "QueueBacklog"} {
		if !names[want] {
			t.Errorf("alert %s (one of each format) missing from the pipeline", want)
		}
	}
	st := c.Stats()
	if st.DeadLettered != 0 || st.Skipped != 0 {
		t.Errorf("stats %+v: nothing should be dead-lettered or skipped", st)
	}
	// Committed offsets and durable cursors agree, over all 8 partitions.
	offs := committed(t, b.Addrs(), "e2e", "alerts", 8)
	var sum int64
	used := 0
	for part, next := range offs {
		sum += next
		if next > 0 {
			used++
		}
		cur, ok := p.Cursor(CursorKey("alerts", part))
		if next > 0 && (!ok || cur != next-1) {
			t.Errorf("partition %d: committed next offset %d but durable cursor %d (ok=%v); want cursor = committed-1", part, next, cur, ok)
		}
	}
	if sum != int64(len(msgs)) {
		t.Errorf("committed offsets sum to %d, want %d messages", sum, len(msgs))
	}
	if used < 4 {
		t.Errorf("messages landed on only %d of 8 partitions (keys c0..c3 should spread)", used)
	}
	if v := testenv.MetricSum(t, reg, "sift_kafka_messages_consumed_total"); v != float64(len(msgs)) {
		t.Errorf("sift_kafka_messages_consumed_total = %v, want %d", v, len(msgs))
	}
	if v := testenv.MetricSum(t, reg, "sift_kafka_alerts_appended_total"); v != float64(total) {
		t.Errorf("sift_kafka_alerts_appended_total = %v, want %d", v, total)
	}
	if v := testenv.MetricSum(t, reg, "sift_kafka_consumer_lag"); v != 0 {
		t.Errorf("sum of sift_kafka_consumer_lag = %v, want 0", v)
	}
	for part, l := range c.Lag() {
		if l != 0 {
			t.Errorf("partition %d: lag %d after consuming everything, want 0", part, l)
		}
	}
}

// TestPoisonMessage checks that undecodable messages (also those beyond
// the ingest limits, or not UTF-8) go to the dead-letter topic with the
// error and their origin in headers, are committed, and do not block the
// alerts behind them on the same partition.
func TestPoisonMessage(t *testing.T) {
	b := startBroker(t, 2, "alerts")
	p := openPipeline(t, t.TempDir())
	defer p.Close()
	c := start(t, testConfig(b, "poison"), p, nil)
	defer c.Close()

	key := []byte("same-key") // everything on one partition, in order
	msgs := []kafkago.Message{
		{Key: key, Value: amv2(1)},
		{Key: key, Value: []byte(`{"labels": {"alertname": "Broken"`), Headers: []kafkago.Header{{Key: "origin", Value: []byte("test")}}}, // truncated JSON
		{Key: key, Value: amv2(2)},
		{Key: key, Value: []byte(`{"labels":{"service":"no-alertname"}}`)}, // valid JSON, invalid alert
		{Key: key, Value: amv2(3)},
		{Key: key, Value: manyLabels(100)}, // beyond max_labels_per_alert
		{Key: key, Value: []byte("{\"labels\":{\"alertname\":\"A\",\"x\":\"\xff\"}}")}, // not UTF-8
		{Key: key, Value: amv2(4)},
	}
	produce(t, b.Addrs(), "alerts", msgs...)
	testenv.WaitFor(t, 30*time.Second, "all 8 messages committed", func() bool { return c.Stats().Committed == 8 })
	if got := knownAlerts(p); got != 4 {
		t.Errorf("pipeline has %d alerts, want the 4 good ones (the poison must not block them)", got)
	}
	if st := c.Stats(); st.DeadLettered != 4 {
		t.Errorf("dead-lettered %d, want 4", st.DeadLettered)
	}
	dl := readTopic(t, b.Addrs(), "alerts.dlq", 4)
	byOffset := map[string]kafkago.Message{}
	var partition string
	for _, m := range dl {
		off, _ := header(m, HeaderOriginalOffset)
		byOffset[off] = m
		if string(m.Key) != "same-key" {
			t.Errorf("dead letter key %q, want the original key", m.Key)
		}
		if topic, _ := header(m, HeaderOriginalTopic); topic != "alerts" {
			t.Errorf("%s header %q, want alerts", HeaderOriginalTopic, topic)
		}
		partition, _ = header(m, HeaderOriginalPartition)
		if g, _ := header(m, HeaderConsumerGroup); g != "poison" {
			t.Errorf("%s header %q, want poison", HeaderConsumerGroup, g)
		}
		if _, ok := header(m, HeaderOriginalTimestamp); !ok {
			t.Errorf("no %s header", HeaderOriginalTimestamp)
		}
	}
	m1, ok1 := byOffset["1"]
	m3, ok3 := byOffset["3"]
	if !ok1 || !ok3 {
		t.Fatalf("dead letters have original offsets %v, want 1 and 3", keys(byOffset))
	}
	if string(m1.Value) != string(msgs[1].Value) || string(m3.Value) != string(msgs[3].Value) {
		t.Errorf("dead letter values differ from the originals: %q, %q", m1.Value, m3.Value)
	}
	if e, _ := header(m1, HeaderError); e == "" || !contains(e, "invalid JSON") {
		t.Errorf("offset 1 error header %q, want an invalid JSON error", e)
	}
	if r, _ := header(m1, HeaderErrorReason); r != ingest.ReasonInvalidJSON {
		t.Errorf("offset 1 reason %q, want %s", r, ingest.ReasonInvalidJSON)
	}
	if o, _ := header(m1, "origin"); o != "test" {
		t.Errorf("original header not kept on the dead letter: origin=%q", o)
	}
	if e, _ := header(m3, HeaderError); !contains(e, "alertname") {
		t.Errorf("offset 3 error header %q, want it to name the missing alertname", e)
	}
	if r, _ := header(m3, HeaderErrorReason); r != ingest.ReasonInvalidAlert {
		t.Errorf("offset 3 reason %q, want %s", r, ingest.ReasonInvalidAlert)
	}
	for off, want := range map[string][2]string{
		"5": {"labels: 100 labels exceed the limit of 64", ingest.ReasonTooLarge},
		"6": {"labels.x: not valid UTF-8", ingest.ReasonInvalidAlert},
	} {
		m := byOffset[off]
		if e, _ := header(m, HeaderError); !contains(e, want[0]) {
			t.Errorf("offset %s error header %q, want %q", off, e, want[0])
		}
		if r, _ := header(m, HeaderErrorReason); r != want[1] {
			t.Errorf("offset %s reason %q, want %s", off, r, want[1])
		}
	}
	// The partition is fully committed, poison included.
	part, _ := strconv.Atoi(partition)
	if off := committed(t, b.Addrs(), "poison", "alerts", 2)[part]; off != 8 {
		t.Errorf("partition %d committed offset %d, want 8 (poison messages are handled, not blocking)", part, off)
	}
}

// manyLabels is one alert with n labels.
func manyLabels(n int) []byte {
	b := []byte(`{"labels":{"alertname":"Many"`)
	for i := 1; i < n; i++ {
		b = fmt.Appendf(b, `,"l%d":"v"`, i)
	}
	return append(b, "}}"...)
}

func keys(m map[string]kafkago.Message) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// crashSink appends to the real pipeline; from the (after+1)th batch on it
// makes the batch durable and then hangs until the consumer is torn down,
// like a process that dies between the durable append and the offset commit.
type crashSink struct {
	p       *pipeline.Pipeline
	after   int
	mu      sync.Mutex
	n       int
	crashed chan struct{}
	once    sync.Once
}

func (s *crashSink) Append(ctx context.Context, b model.Batch) error {
	s.mu.Lock()
	s.n++
	crash := s.n > s.after
	s.mu.Unlock()
	if err := s.p.Append(ctx, b); err != nil {
		return err
	}
	if crash {
		s.once.Do(func() { close(s.crashed) })
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// TestRestartNoLossNoDuplicates stops the consumer mid-stream in the worst
// place — a batch durable in the store but its offsets not committed — then
// closes and reopens the store and starts a new consumer: every alert must be
// applied exactly once, the redelivered batch being skipped.
func TestRestartNoLossNoDuplicates(t *testing.T) {
	b := startBroker(t, 4, "alerts")
	dir := t.TempDir()
	const n = 4000
	produce(t, b.Addrs(), "alerts", alertMessages(0, n)...)

	p := openPipeline(t, dir)
	cfg := testConfig(b, "restart")
	cfg.BatchSize = 50
	sink := &crashSink{p: p, after: 10, crashed: make(chan struct{})}
	c1, err := Start(context.Background(), cfg, nil, sink, p, nil, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	c1.drainTimeout = 200 * time.Millisecond
	select {
	case <-sink.crashed:
	case <-time.After(30 * time.Second):
		t.Fatal("consumer never reached the 11th batch")
	}
	if err := c1.Close(); err != nil {
		t.Logf("close after crash: %v", err)
	}
	before := engineStats(p).Alerts
	if before == 0 || before >= n {
		t.Fatalf("after the crash the store has %d alerts; want some but not all of %d", before, n)
	}
	committedBefore := c1.Stats().Committed
	if committedBefore >= before {
		t.Fatalf("committed %d messages but %d alerts durable: the crash window (durable, uncommitted) was not exercised", committedBefore, before)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: reopen the store (state and cursors from disk) and consume again.
	p2 := openPipeline(t, dir)
	defer p2.Close()
	if got := engineStats(p2).Alerts; got != before {
		t.Fatalf("after reopening, the store has %d alerts, had %d", got, before)
	}
	c2 := start(t, cfg, p2, nil)
	defer c2.Close()
	testenv.WaitFor(t, 60*time.Second, "the rest consumed and committed", func() bool {
		if engineStats(p2).Alerts < n {
			return false
		}
		var sum int64
		for _, off := range committed(t, b.Addrs(), "restart", "alerts", 4) {
			sum += off
		}
		return sum == n
	})
	time.Sleep(200 * time.Millisecond) // anything more (a duplicate) would show now
	st := c2.Stats()
	if st.Skipped == 0 {
		t.Errorf("no redelivered message was skipped; the durable-but-uncommitted batch should have been redelivered")
	}
	if got := engineStats(p2).Alerts; got != n {
		t.Errorf("engine applied %d notifications, want exactly %d (no loss, no duplicates)", got, n)
	}
	if got := knownAlerts(p2); got != n {
		t.Errorf("store knows %d distinct alerts, want %d", got, n)
	}
	if st.Alerts+before != n {
		t.Errorf("second run appended %d alerts, first %d; want them to add up to %d", st.Alerts, before, n)
	}
	t.Logf("first run: %d durable, %d committed; second run: %d appended, %d skipped as already durable",
		before, committedBefore, st.Alerts, st.Skipped)
}

// TestTwoInstancesShareGroup runs two consumers with separate stores in one
// group: they split the partitions, and when one leaves, the other takes
// over its partitions; together they receive every alert exactly once.
func TestTwoInstancesShareGroup(t *testing.T) {
	b := startBroker(t, 8, "alerts")
	pa := openPipeline(t, t.TempDir())
	defer pa.Close()
	pb := openPipeline(t, t.TempDir())
	defer pb.Close()
	cfg := testConfig(b, "shared")
	ca := start(t, cfg, pa, nil)
	defer ca.Close()

	// Phase 1: A alone.
	produce(t, b.Addrs(), "alerts", alertMessages(0, 1000)...)
	testenv.WaitFor(t, 30*time.Second, "A consumed phase 1", func() bool { return ca.Stats().Committed == 1000 })

	// Phase 2: B joins; wait until the group has both members with partitions.
	cb := start(t, cfg, pb, nil)
	testenv.WaitFor(t, 30*time.Second, "both members assigned", func() bool { return assignedMembers(t, b.Addrs(), "shared") == 2 })
	produce(t, b.Addrs(), "alerts", alertMessages(1000, 3000)...)
	testenv.WaitFor(t, 30*time.Second, "phase 2 consumed", func() bool { return ca.Stats().Committed+cb.Stats().Committed == 3000 })
	a2, b2 := ca.Stats().Alerts-1000, cb.Stats().Alerts
	if a2 == 0 || b2 == 0 {
		t.Errorf("phase 2: A got %d and B got %d alerts; want both to share the partitions", a2, b2)
	}

	// Phase 3: A leaves (rebalance); B takes over everything.
	if err := ca.Close(); err != nil {
		t.Logf("close A: %v", err)
	}
	produce(t, b.Addrs(), "alerts", alertMessages(3000, 4000)...)
	// Committed counts include redeliveries after the rebalance (skipped as
	// already durable), so wait for the stores and the group's offsets.
	testenv.WaitFor(t, 60*time.Second, "phase 3 consumed by B", func() bool {
		if knownAlerts(pa)+knownAlerts(pb) < 4000 {
			return false
		}
		var sum int64
		for _, off := range committed(t, b.Addrs(), "shared", "alerts", 8) {
			sum += off
		}
		return sum == 4000
	})
	defer cb.Close()
	time.Sleep(200 * time.Millisecond) // anything more (a duplicate) would show now

	ka, kb := knownAlerts(pa), knownAlerts(pb)
	if ka+kb != 4000 {
		t.Errorf("A has %d alerts and B %d: together %d, want 4000 exactly once", ka, kb, ka+kb)
	}
	seen := map[model.Fingerprint]int{}
	for _, p := range []*pipeline.Pipeline{pa, pb} {
		p.View(func(e *correlate.Engine) {
			for _, a := range e.Alerts() {
				seen[a.Fingerprint]++
			}
		})
	}
	dups := 0
	for _, c := range seen {
		if c > 1 {
			dups++
		}
	}
	if len(seen) != 4000 || dups != 0 {
		t.Errorf("%d distinct fingerprints across both stores (want 4000), %d in both (want 0)", len(seen), dups)
	}
	if st := engineStats(pa).Alerts + engineStats(pb).Alerts; st != 4000 {
		t.Errorf("the engines applied %d notifications in all, want 4000 (redeliveries must change nothing)", st)
	}
	t.Logf("A: %d alerts, B: %d alerts (phase 2 split %d/%d); redelivered and skipped: A %d, B %d",
		ka, kb, a2, b2, ca.Stats().Skipped, cb.Stats().Skipped)
}

// assignedMembers returns how many members of group have partitions assigned.
func assignedMembers(t testing.TB, addrs []string, group string) int {
	cl := &kafkago.Client{Addr: kafkago.TCP(addrs...), Timeout: 5 * time.Second}
	resp, err := cl.DescribeGroups(context.Background(), &kafkago.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil || len(resp.Groups) == 0 {
		return 0
	}
	g := resp.Groups[0]
	if g.GroupState != "Stable" {
		return 0
	}
	n := 0
	for _, m := range g.Members {
		for _, tp := range m.MemberAssignments.Topics {
			if len(tp.Partitions) > 0 {
				n++
				break
			}
		}
	}
	return n
}

// TestBackpressure: a slow sink slows consumption instead of buffering
// without bound: with a sink that takes 100ms per batch, the consumer holds
// at most the batch in the sink, one batch waiting and kafka-go's queue.
func TestBackpressure(t *testing.T) {
	b := startBroker(t, 2, "alerts")
	p := openPipeline(t, t.TempDir())
	defer p.Close()
	produce(t, b.Addrs(), "alerts", alertMessages(0, 3000)...)
	cfg := testConfig(b, "slow")
	cfg.BatchSize = 100
	cfg.QueueCapacity = 100
	slow := &slowSink{p: p, delay: 100 * time.Millisecond}
	c, err := Start(context.Background(), cfg, nil, slow, p, nil, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(time.Second)
	st := c.Stats()
	appended := engineStats(p).Alerts
	if appended > 1500 {
		t.Errorf("%d alerts appended in 1s through a sink taking 100ms per 100-alert batch: the sink was not the limit", appended)
	}
	if appended == 0 {
		t.Fatalf("nothing appended in 1s")
	}
	testenv.WaitFor(t, 60*time.Second, "slow consumer finishes", func() bool { return c.Stats().Committed == 3000 })
	if got := engineStats(p).Alerts; got != 3000 {
		t.Errorf("engine applied %d, want 3000", got)
	}
	t.Logf("after 1s: %d appended, %d committed (sink-bound)", appended, st.Committed)
}

type slowSink struct {
	p     *pipeline.Pipeline
	delay time.Duration
}

func (s *slowSink) Append(ctx context.Context, b model.Batch) error {
	time.Sleep(s.delay)
	return s.p.Append(ctx, b)
}

func TestConfig(t *testing.T) {
	var c Config
	if c.Enabled() {
		t.Error("zero config must be disabled")
	}
	if err := c.Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
	d := Config{Brokers: []string{"k:9092"}}.WithDefaults()
	if d.Topic != "alerts" || d.DeadLetterTopic != "alerts.dlq" || d.IncidentsTopic != "sift.incidents" || d.Group != "sift" ||
		d.BatchSize != 1000 || d.BatchWait != 50*time.Millisecond || !d.IncidentsEnabled() {
		t.Errorf("defaults: %+v", d)
	}
	off := false
	if (Config{Brokers: []string{"k:9092"}, PublishIncidents: &off}).IncidentsEnabled() {
		t.Error("publish_incidents: false must disable the incidents topic")
	}
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Brokers: []string{"nohostport"}}, "kafka.brokers[0]"},
		{Config{Format: "xml"}, "kafka.format"},
		{Config{Topic: "bad topic"}, "kafka.topic"},
		{Config{Topic: "a", DeadLetterTopic: "a"}, "kafka.dead_letter_topic"},
		{Config{BatchSize: -1}, "kafka.batch_size"},
		{Config{BatchWait: -time.Second}, "kafka.batch_wait"},
		{Config{StartOffset: "middle"}, "kafka.start_offset"},
		{Config{HeartbeatInterval: time.Minute}, "kafka.heartbeat_interval"},
	} {
		err := tc.c.Validate()
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", tc.c, err, tc.want)
		}
	}
	if _, err := Start(context.Background(), Config{}, nil, nil, nil, nil, nil); err == nil {
		t.Error("Start with no brokers must fail")
	}
	var y Config
	err := yaml.Unmarshal([]byte("brokers: [k1:9092, k2:9092]\ntopic: prom-alerts\nformat: webhook\nbatch_size: 500\nbatch_wait: 20ms\npublish_incidents: false\n"), &y)
	if err != nil {
		t.Fatal(err)
	}
	if len(y.Brokers) != 2 || y.Topic != "prom-alerts" || y.Format != "webhook" || y.BatchSize != 500 || y.BatchWait != 20*time.Millisecond ||
		y.IncidentsEnabled() || y.WithDefaults().DeadLetterTopic != "prom-alerts.dlq" || y.Validate() != nil {
		t.Errorf("from YAML: %+v (validate: %v)", y, y.Validate())
	}
}

// TestMessageLargerThanFetchMaxBytes checks that fetch_max_bytes is a
// fetch size, not a message size limit: a message larger than it (60
// KiB, within ingest.max_annotation_bytes) is
// still delivered whole (the broker returns the first record batch of a
// partition even when it exceeds the limit), and the messages behind it
// follow.
func TestMessageLargerThanFetchMaxBytes(t *testing.T) {
	b := startBroker(t, 1, "alerts")
	p := openPipeline(t, t.TempDir())
	defer p.Close()
	cfg := testConfig(b, "big")
	cfg.FetchMaxBytes = 16 << 10
	c := start(t, cfg, p, nil)
	defer c.Close()

	big := fmt.Appendf(nil, `{"labels":{"alertname":"Big","instance":"x"},"annotations":{"description":%q}}`, strings.Repeat("d", 60<<10))
	msgs := append([]kafkago.Message{{Key: []byte("c0"), Value: big}}, alertMessages(0, 50)...)
	produce(t, b.Addrs(), "alerts", msgs...)
	testenv.WaitFor(t, 30*time.Second, "all messages committed", func() bool { return c.Stats().Committed == uint64(len(msgs)) })
	if got := knownAlerts(p); got != len(msgs) {
		t.Errorf("pipeline knows %d alerts, want %d", got, len(msgs))
	}
	var desc int
	for _, a := range p.Alerts() {
		if a.Name() == "Big" {
			desc = len(a.Annotations["description"])
		}
	}
	if desc != 60<<10 {
		t.Errorf("the large alert's description has %d bytes, want %d (delivered whole)", desc, 60<<10)
	}
}
