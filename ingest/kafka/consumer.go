package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/model"
)

// Source is the model.Batch.Source of batches appended by the consumer.
const Source = "kafka"

// Dead-letter headers set on every message written to the dead-letter
// topic. The dead-lettered message keeps the original key, value and
// headers; these are added after the original headers.
const (
	HeaderError             = "sift-error"              // what is wrong, e.g. "alerts[0].labels: missing"
	HeaderErrorReason       = "sift-error-reason"       // ingest reason: invalid_json, invalid_alert, ...
	HeaderOriginalTopic     = "sift-original-topic"     // topic the message was consumed from
	HeaderOriginalPartition = "sift-original-partition" // its partition (decimal)
	HeaderOriginalOffset    = "sift-original-offset"    // its offset (decimal)
	HeaderOriginalTimestamp = "sift-original-timestamp" // its timestamp (RFC 3339, UTC)
	HeaderConsumerGroup     = "sift-consumer-group"     // group that dead-lettered it
)

// CursorKey is the model.CursorStore key of a topic partition.
func CursorKey(topic string, partition int) string {
	return topic + "/" + strconv.Itoa(partition)
}

// Stats are the consumer's running totals since Start.
type Stats struct {
	Consumed       uint64 // messages fetched
	Skipped        uint64 // redelivered messages already durable (offset <= cursor)
	DeadLettered   uint64 // messages written to the dead-letter topic
	Alerts         uint64 // alerts appended durably
	Batches        uint64 // batches appended durably
	Committed      uint64 // messages whose offsets were committed
	CommitErrors   uint64
	AppendRetries  uint64
	DeadLetterErrs uint64
}

// Consumer consumes alerts from a Kafka topic as a member of a consumer
// group and appends them to a model.Sink. See the package documentation
// for its delivery guarantees.
type Consumer struct {
	cfg     Config
	dec     *ingest.Decoder
	ses     *ingest.Session // fetch goroutine only: dec's scratch and caches across messages
	sink    model.Sink
	cursors model.CursorStore
	log     *slog.Logger
	r       *kafkago.Reader
	dlq     *kafkago.Writer
	m       *metrics

	batches     chan *pending
	commits     chan commitJob
	fetchCancel context.CancelFunc
	workCancel  context.CancelFunc
	fetchDone   chan struct{}
	workDone    chan struct{}
	closeOnce   sync.Once
	closeErr    error
	// drainTimeout bounds how long Close waits for in-flight batches.
	drainTimeout time.Duration

	parts map[int]*partState // fetch goroutine only

	lagMu sync.Mutex
	lag   map[int]int64

	consumed, skipped, dead, alerts, nbatches, committed, commitErrs, appendRetries, dlqErrs atomic.Uint64
}

type partState struct {
	key  string
	done int64 // highest offset handed to the append stage (or already durable)
}

// pending is one batch on its way to the sink.
type pending struct {
	at      time.Time
	alerts  []model.Alert
	cursors map[string]int64
	dead    []deadLetter
	last    map[int]kafkago.Message // last message per partition: what to commit
	n       int
}

type deadLetter struct {
	msg kafkago.Message
	err error
}

// Start joins the consumer group cfg.Group on cfg.Topic and consumes until
// ctx is done or Close is called. dec decodes message values (cfg.Format,
// "" detects per message); sink receives the alerts; cursors tells which
// offsets are already durable (normally both are the *pipeline.Pipeline).
// reg may be nil (no metrics); log may be nil.
func Start(ctx context.Context, cfg Config, dec *ingest.Decoder, sink model.Sink, cursors model.CursorStore,
	reg prometheus.Registerer, log *slog.Logger) (*Consumer, error) {
	if !cfg.Enabled() {
		return nil, errors.New("kafka: no brokers configured (kafka.brokers)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if dec == nil {
		dec = ingest.NewDecoder(ingest.Config{})
	}
	if sink == nil || cursors == nil {
		return nil, errors.New("kafka: Start needs a sink and a cursor store")
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "kafka-consumer", "topic", cfg.Topic, "group", cfg.Group)
	start := kafkago.FirstOffset
	if cfg.StartOffset == "latest" {
		start = kafkago.LastOffset
	}
	dialer := &kafkago.Dialer{ClientID: cfg.ClientID, Timeout: 10 * time.Second, DialFunc: dialBuffered(10 * time.Second)}
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:           cfg.Brokers,
		GroupID:           cfg.Group,
		Topic:             cfg.Topic,
		Dialer:            dialer,
		QueueCapacity:     cfg.QueueCapacity,
		MinBytes:          1,
		MaxBytes:          cfg.FetchMaxBytes,
		MaxWait:           time.Second,
		ReadBatchTimeout:  10 * time.Second,
		HeartbeatInterval: cfg.HeartbeatInterval,
		SessionTimeout:    cfg.SessionTimeout,
		RebalanceTimeout:  cfg.RebalanceTimeout,
		JoinGroupBackoff:  time.Second,
		CommitInterval:    0, // synchronous commits, only after the batch is durable
		StartOffset:       start,
		ReadLagInterval:   -1,
		Logger:            kafkago.LoggerFunc(func(msg string, args ...any) { log.Debug(fmt.Sprintf(msg, args...)) }),
		ErrorLogger:       kafkago.LoggerFunc(func(msg string, args ...any) { log.Warn(fmt.Sprintf(msg, args...)) }),
	})
	c := &Consumer{
		cfg:       cfg,
		dec:       dec,
		ses:       dec.NewStreamSession(),
		sink:      sink,
		cursors:   cursors,
		log:       log,
		r:         r,
		dlq:       NewWriter(cfg, cfg.DeadLetterTopic, log),
		batches:   make(chan *pending, 1),
		commits:   make(chan commitJob, 4),
		fetchDone: make(chan struct{}),
		workDone:  make(chan struct{}),
		parts:     map[int]*partState{},
		lag:       map[int]int64{},

		drainTimeout: 10 * time.Second,
	}
	c.m = newMetrics(reg, cfg, c)
	fetchCtx, fetchCancel := context.WithCancel(ctx)
	workCtx, workCancel := context.WithCancel(context.WithoutCancel(ctx))
	c.fetchCancel, c.workCancel = fetchCancel, workCancel
	go c.fetchLoop(fetchCtx)
	go c.appendLoop(workCtx)
	go c.commitLoop(workCtx)
	log.Info("kafka consumer started", "brokers", cfg.Brokers, "format", formatName(cfg.Format), "dead_letter_topic", cfg.DeadLetterTopic)
	return c, nil
}

func formatName(f string) string {
	if f == "" {
		return "detect"
	}
	return f
}

// NewWriter returns the producer Sift uses for its own topics (dead
// letters, incident events): acks from all in-sync replicas, keys hashed
// to partitions with kafka-go's hash balancer (FNV-1a), topics created on
// first use.
func NewWriter(cfg Config, topic string, log *slog.Logger) *kafkago.Writer {
	return &kafkago.Writer{
		Addr:                   kafkago.TCP(cfg.Brokers...),
		Topic:                  topic,
		Balancer:               &kafkago.Hash{},
		RequiredAcks:           kafkago.RequireAll,
		MaxAttempts:            3,
		WriteBackoffMin:        50 * time.Millisecond,
		WriteBackoffMax:        time.Second,
		BatchTimeout:           2 * time.Millisecond,
		BatchSize:              1000,
		AllowAutoTopicCreation: true,
		Transport:              &kafkago.Transport{ClientID: cfg.ClientID, DialTimeout: 10 * time.Second},
		ErrorLogger:            kafkago.LoggerFunc(func(msg string, args ...any) { log.Warn(fmt.Sprintf(msg, args...)) }),
	}
}

// Stats returns the running totals.
func (c *Consumer) Stats() Stats {
	return Stats{
		Consumed: c.consumed.Load(), Skipped: c.skipped.Load(), DeadLettered: c.dead.Load(),
		Alerts: c.alerts.Load(), Batches: c.nbatches.Load(), Committed: c.committed.Load(),
		CommitErrors: c.commitErrs.Load(), AppendRetries: c.appendRetries.Load(), DeadLetterErrs: c.dlqErrs.Load(),
	}
}

// Lag returns the consumer lag (messages behind the high watermark) of
// each partition this consumer has fetched from, as of its last batch.
func (c *Consumer) Lag() map[int]int64 {
	c.lagMu.Lock()
	defer c.lagMu.Unlock()
	out := make(map[int]int64, len(c.lag))
	for p, l := range c.lag {
		out[p] = l
	}
	return out
}

// Close stops fetching, lets the batches already fetched become durable
// and committed (for up to 10 s), leaves the group and closes the
// connections. Messages fetched but not committed are delivered again
// to whichever member owns their partition next.
func (c *Consumer) Close() error {
	c.closeOnce.Do(func() {
		c.fetchCancel()
		<-c.fetchDone
		select {
		case <-c.workDone:
		case <-time.After(c.drainTimeout):
			c.log.Warn("kafka consumer: in-flight batch not durable in time; abandoning it (it will be redelivered)", "waited", c.drainTimeout)
			c.workCancel()
			<-c.workDone
		}
		c.workCancel()
		err := c.r.Close()
		if derr := c.dlq.Close(); err == nil {
			err = derr
		}
		c.closeErr = err
		c.log.Info("kafka consumer stopped", "consumed", c.consumed.Load(), "alerts", c.alerts.Load(), "dead_lettered", c.dead.Load())
	})
	return c.closeErr
}

// fetchLoop collects messages into bounded batches and hands them to the
// append stage through a channel of capacity 1: while one batch is being
// made durable the next is being collected, and no more than that. A slow
// sink therefore blocks fetching (backpressure), and kafka-go's fetch
// queue (queue_capacity messages) bounds what is buffered ahead.
func (c *Consumer) fetchLoop(ctx context.Context) {
	defer close(c.fetchDone)
	defer close(c.batches)
	for {
		p, err := c.collect(ctx)
		if p != nil && p.n > 0 {
			select {
			case c.batches <- p:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return
			}
			c.log.Warn("kafka fetch failed", "err", err)
			select {
			case <-time.After(500 * time.Millisecond):
			case <-ctx.Done():
				return
			}
		}
	}
}

// collect waits for one message, then gathers more until the batch is
// full or batch_wait has passed since the first.
func (c *Consumer) collect(ctx context.Context) (*pending, error) {
	m, err := c.r.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	p := &pending{at: time.Now(), cursors: make(map[string]int64, len(c.parts)), last: make(map[int]kafkago.Message, len(c.parts)),
		alerts: make([]model.Alert, 0, min(c.cfg.BatchSize, c.cfg.BatchAlerts))}
	c.add(p, m)
	wctx, cancel := context.WithTimeout(ctx, c.cfg.BatchWait)
	defer cancel()
	for p.n < c.cfg.BatchSize && len(p.alerts) < c.cfg.BatchAlerts {
		m, err := c.r.FetchMessage(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err() // stopping: the partial batch is not committed, it will be redelivered
			}
			if wctx.Err() != nil {
				break // batch_wait is over
			}
			return p, err
		}
		c.add(p, m)
	}
	return p, nil
}

func (c *Consumer) add(p *pending, m kafkago.Message) {
	p.n++
	p.last[m.Partition] = m
	ps := c.parts[m.Partition]
	if ps == nil {
		ps = &partState{key: CursorKey(m.Topic, m.Partition), done: -1}
		if off, ok := c.cursors.Cursor(ps.key); ok {
			ps.done = off
		}
		c.parts[m.Partition] = ps
	}
	if m.Offset <= ps.done {
		// Already durable (or on its way to be): a redelivery after a crash
		// between append and commit, or after a rebalance. It changes nothing.
		c.skipped.Add(1)
		c.m.skipped.Inc()
		return
	}
	ps.done = m.Offset
	p.cursors[ps.key] = m.Offset
	alerts, err := c.ses.AppendDecode(p.alerts, c.cfg.Format, m.Value, p.at)
	if err != nil {
		p.dead = append(p.dead, deadLetter{msg: m, err: err})
		return
	}
	p.alerts = alerts
}

// appendLoop makes each batch durable and then commits its offsets:
// dead letters first (so that the durable cursor never covers a message
// that is neither in the store nor in the dead-letter topic), then the
// alerts with their cursors in one durable append, then the commit.
func (c *Consumer) appendLoop(ctx context.Context) {
	defer close(c.commits)
	for p := range c.batches {
		if len(p.dead) > 0 {
			if err := c.retry(ctx, "dead-letter write", &c.dlqErrs, c.m.dlqErrors, func() error { return c.writeDeadLetters(ctx, p.dead) }); err != nil {
				return
			}
			c.dead.Add(uint64(len(p.dead)))
			c.m.deadLettered.Add(float64(len(p.dead)))
		}
		if len(p.alerts) > 0 {
			b := model.Batch{At: p.at, Source: Source, Alerts: p.alerts, Cursors: p.cursors}
			if err := c.retry(ctx, "durable append", &c.appendRetries, c.m.appendErrors, func() error { return c.sink.Append(ctx, b) }); err != nil {
				return
			}
			c.alerts.Add(uint64(len(p.alerts)))
			c.nbatches.Add(1)
			c.m.alerts.Add(float64(len(p.alerts)))
			c.m.batches.Inc()
		}
		c.consumed.Add(uint64(p.n))
		c.m.consumed.Add(float64(p.n))
		job := commitJob{last: p.last, n: p.n}
		c.lagMu.Lock()
		for part, m := range p.last {
			if m.HighWaterMark > 0 {
				lag := max(m.HighWaterMark-m.Offset-1, 0)
				c.lag[part] = lag
				c.m.lag.WithLabelValues(strconv.Itoa(part)).Set(float64(lag))
			}
		}
		c.lagMu.Unlock()
		select {
		case c.commits <- job:
		case <-ctx.Done():
			return
		}
	}
}

// commitJob is the offsets of one durable batch: its last message per partition.
type commitJob struct {
	last map[int]kafkago.Message
	n    int
}

// commitLoop commits the offsets of durable batches, in order, while the
// next batch is being made durable (the commit round trip does not delay
// the append). Jobs that queue up meanwhile are merged into one commit.
// A commit is only ever sent for batches that are already durable, so a
// lost or refused commit only causes redeliveries, which are skipped.
func (c *Consumer) commitLoop(ctx context.Context) {
	defer close(c.workDone)
	for job := range c.commits {
	merge:
		for {
			select {
			case next, ok := <-c.commits:
				if !ok {
					break merge
				}
				for part, m := range next.last {
					job.last[part] = m // later batches have higher offsets
				}
				job.n += next.n
			default:
				break merge
			}
		}
		msgs := make([]kafkago.Message, 0, len(job.last))
		for _, m := range job.last {
			msgs = append(msgs, m)
		}
		if err := c.r.CommitMessages(ctx, msgs...); err != nil {
			if ctx.Err() != nil {
				continue // stopping: drain without committing
			}
			// The batch is durable; an uncommitted offset only means a
			// redelivery, which the cursors turn into a no-op.
			c.commitErrs.Add(1)
			c.m.commitErrors.Inc()
			c.log.Warn("kafka offset commit failed (messages will be redelivered and skipped)", "err", err)
			continue
		}
		c.committed.Add(uint64(job.n))
	}
}

// retry runs fn until it succeeds or ctx is done, backing off
// exponentially up to retry_backoff_max.
func (c *Consumer) retry(ctx context.Context, what string, n *atomic.Uint64, ctr prometheus.Counter, fn func() error) error {
	backoff := 50 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n.Add(1)
		ctr.Inc()
		c.log.Warn("kafka consumer: "+what+" failed; offsets not committed, retrying", "err", err, "backoff", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(backoff*2, c.cfg.RetryBackoffMax)
	}
}

func (c *Consumer) writeDeadLetters(ctx context.Context, dead []deadLetter) error {
	msgs := make([]kafkago.Message, len(dead))
	for i, d := range dead {
		reason := "invalid"
		var ie *ingest.Error
		if errors.As(d.err, &ie) {
			reason = ie.Reason()
		}
		h := make([]kafkago.Header, 0, len(d.msg.Headers)+7)
		h = append(h, d.msg.Headers...)
		h = append(h,
			kafkago.Header{Key: HeaderError, Value: []byte(d.err.Error())},
			kafkago.Header{Key: HeaderErrorReason, Value: []byte(reason)},
			kafkago.Header{Key: HeaderOriginalTopic, Value: []byte(d.msg.Topic)},
			kafkago.Header{Key: HeaderOriginalPartition, Value: []byte(strconv.Itoa(d.msg.Partition))},
			kafkago.Header{Key: HeaderOriginalOffset, Value: []byte(strconv.FormatInt(d.msg.Offset, 10))},
			kafkago.Header{Key: HeaderOriginalTimestamp, Value: []byte(d.msg.Time.UTC().Format(time.RFC3339Nano))},
			kafkago.Header{Key: HeaderConsumerGroup, Value: []byte(c.cfg.Group)},
		)
		msgs[i] = kafkago.Message{Key: d.msg.Key, Value: d.msg.Value, Headers: h}
		c.log.Warn("kafka message dead-lettered", "partition", d.msg.Partition, "offset", d.msg.Offset, "err", d.err)
	}
	return c.dlq.WriteMessages(ctx, msgs...)
}
