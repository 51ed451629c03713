package kafka

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	consumed, skipped, deadLettered, alerts, batches prometheus.Counter
	commitErrors, appendErrors, dlqErrors            prometheus.Counter
	lag                                              *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, cfg Config, c *Consumer) *metrics {
	cl := prometheus.Labels{"topic": cfg.Topic}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: cl})
	}
	m := &metrics{
		consumed:     counter("sift_kafka_messages_consumed_total", "Kafka messages consumed and handled (appended, dead-lettered or skipped as already durable)."),
		skipped:      counter("sift_kafka_messages_redelivered_total", "Redelivered Kafka messages skipped because they were already durable (offset <= stored cursor)."),
		deadLettered: counter("sift_kafka_messages_dead_lettered_total", "Kafka messages that could not be decoded and were written to the dead-letter topic."),
		alerts:       counter("sift_kafka_alerts_appended_total", "Alerts from Kafka appended durably."),
		batches:      counter("sift_kafka_batches_appended_total", "Batches from Kafka appended durably."),
		commitErrors: counter("sift_kafka_commit_errors_total", "Failed offset commits (the messages are redelivered and skipped)."),
		appendErrors: counter("sift_kafka_append_errors_total", "Failed durable appends of Kafka batches (retried; offsets not committed meanwhile)."),
		dlqErrors:    counter("sift_kafka_dead_letter_errors_total", "Failed writes to the dead-letter topic (retried; offsets not committed meanwhile)."),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sift_kafka_consumer_lag",
			Help: "Messages behind the partition's high watermark at the last batch consumed from it.", ConstLabels: cl}, []string{"partition"}),
	}
	if reg != nil {
		reg.MustRegister(m.consumed, m.skipped, m.deadLettered, m.alerts, m.batches, m.commitErrors, m.appendErrors, m.dlqErrors, m.lag)
	}
	return m
}
