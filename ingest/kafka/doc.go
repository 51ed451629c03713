// Package kafka consumes alerts from a Kafka topic into Sift's durable
// pipeline (github.com/segmentio/kafka-go), and provides an in-memory
// development broker (kfake) for local trials, tests and benchmarks.
//
// # Messages
//
// Each message value is one of the formats of package ingest: an
// Alertmanager v2 alert (one object) or postableAlerts array, an
// Alertmanager webhook payload (version "4"), or Sift's generic event (one
// object or an array). kafka.format fixes the format for the whole topic;
// empty detects it per message (ingest.Detect), so formats may be mixed.
// The key is not interpreted by Sift (see Partitioning).
//
// # Delivery: at least once, with exactly-once effect
//
// The consumer is a member of the consumer group kafka.group. It collects
// up to batch_size messages (or batch_alerts alerts), waiting at most
// batch_wait after the first, and then, in this order:
//
//  1. writes the messages that cannot be decoded to the dead-letter topic
//     (synchronous, acks=all), retrying with backoff until it succeeds;
//  2. appends the batch's alerts to the sink in one durable append,
//     together with the batch's cursors: for every partition in the batch,
//     "<topic>/<partition>" -> offset of its last message. The journal
//     stores the cursors atomically with the alerts and keeps the highest;
//  3. commits the offsets to Kafka (in order, from a separate goroutine,
//     so that the commit round trip overlaps the next batch's append;
//     commits that queue up are merged).
//
// Nothing is committed before it is durable (or dead-lettered), so a crash
// anywhere loses nothing: what was not committed is delivered again. The
// one window where the same message is delivered twice is a crash (or a
// failed commit) between 2 and 3: the batch is already durable. On every
// message the consumer compares the offset with the durable cursor of its
// partition (model.CursorStore, read at first sight of the partition, and
// then kept in memory as the highest offset handed to the append stage);
// an offset at or below it is already in the store and is skipped — it is
// committed but changes nothing: no second count, no second incident.
// Together: at-least-once delivery, exactly-once effect on Sift's state.
//
// A dead-letter write between 1 and 2 that is followed by a crash is
// written again after the restart: the dead-letter topic is at least once
// (consumers of it may see a message twice; the sift-original-* headers
// identify it). A batch made only of messages already durable or dead
// letters is committed without an append.
//
// If the durable append or the dead-letter write keeps failing, the
// consumer keeps retrying (backoff up to retry_backoff_max) and commits
// nothing meanwhile; consumption stops rather than dropping anything.
//
// # Dead letters
//
// A message that cannot be decoded or fails validation (invalid JSON, no
// alertname, bad times, ...) is written to kafka.dead_letter_topic (default
// "<topic>.dlq") with the original key, value and headers, plus:
//
//	sift-error               the error, naming the field (e.g. "[0].labels.alertname: missing")
//	sift-error-reason        invalid_json | invalid_alert | empty_batch | too_many_alerts
//	sift-original-topic      topic it was consumed from
//	sift-original-partition  its partition (decimal)
//	sift-original-offset     its offset (decimal)
//	sift-original-timestamp  its timestamp (RFC 3339, UTC)
//	sift-consumer-group      the group that dead-lettered it
//
// Then it counts as handled and its offset is committed: a poison message
// never blocks its partition and is never silently dropped. A message is
// decoded as a whole: if one alert of an array is invalid, the whole
// message goes to the dead-letter topic (as an HTTP batch is rejected whole).
//
// # Backpressure and memory
//
// The consumer is a three-stage pipeline (collect and decode; dead-letter
// and append; commit) with a channel of one batch between the first two:
// while one batch is being made durable the next is collected, and no
// more; the commit stage holds only offsets. A slow store therefore slows fetching; what is held in
// memory is bounded by two batches plus kafka-go's fetch queue
// (queue_capacity messages) and one fetch response per partition
// (fetch_max_bytes), plus the decoder's cache of the label and annotation
// sets seen (ingest.Decoder.NewStreamSession: at most 2 × 16 MiB of their
// JSON bytes and a 1 MiB table; the sets themselves are shared with the
// alerts held by the engine).
//
// # Horizontal scale and partitioning
//
// Several Sift instances with the same kafka.group split the topic's
// partitions (Kafka's group protocol, range assignment). Each instance has
// its own store and correlates only the alerts of the partitions it owns.
// So alerts that should end up in one incident must land on partitions
// owned by the same instance — in practice, on the same partition:
//
//   - Producers must set the message key to the unit of correlation: the
//     cluster (the "cluster" label, or "cluster/namespace" on large
//     clusters) when incidents follow shared infrastructure, or the
//     service group (a connected part of Sift's topology, e.g. a team's or
//     product's services) when they follow service dependencies. Any key
//     that is a function of the alert's labels also keeps every
//     notification of one alert (firing, repeats, resolved) on one
//     partition, in order, which Sift relies on for its status.
//   - All producers must use the same partitioner for the same key. The Java
//     client's default is murmur2; librdkafka (kcat, confluent-kafka-*)
//     defaults to consistent_random (CRC32) — set partitioner=murmur2_random
//     there; in kafka-go use kafka.Murmur2Balancer; in franz-go the default
//     sticky key partitioner is murmur2-compatible.
//   - Do not change the partition count of the alerts topic while alerts
//     are firing: keys move to other partitions (and maybe instances).
//   - Messages without a key are spread over partitions: fine for a single
//     instance (it owns every partition), but with several instances related
//     alerts may then be correlated on different instances.
//
// A rebalance (an instance starts, stops or dies) loses nothing: a member
// that leaves cleanly (Close) makes its in-flight batches durable and
// commits them first; one that dies leaves uncommitted messages that the
// next owner of the partition receives. The next owner has its own store,
// so such a message is applied there too (it was applied once in each
// store, counted once in each). If a partition comes back to an instance
// whose store already has some of its messages, the cursors skip them.
// Redeliveries around a rebalance are normal: a commit in flight when the
// group generation changes can be refused, and the partition's next owner
// resumes from the previous commit. In TestTwoInstancesShareGroup the
// instance that keeps its partitions typically sees 100–300 of its own
// messages again after the other one leaves; they are skipped (counted in
// sift_kafka_messages_redelivered_total) and the totals stay exact.
//
// # Metrics
//
//	sift_kafka_messages_consumed_total       messages handled (appended, dead-lettered or skipped)
//	sift_kafka_messages_redelivered_total    redelivered messages skipped as already durable
//	sift_kafka_messages_dead_lettered_total  messages written to the dead-letter topic
//	sift_kafka_alerts_appended_total         alerts appended durably
//	sift_kafka_batches_appended_total        durable appends
//	sift_kafka_append_errors_total           failed appends (retried)
//	sift_kafka_dead_letter_errors_total      failed dead-letter writes (retried)
//	sift_kafka_commit_errors_total           failed commits (the messages come back and are skipped)
//	sift_kafka_consumer_lag{partition}       high watermark minus the next offset, at the last batch
//
// # Development broker
//
// `sift kafka-broker --dev` (DevBrokerMain) runs github.com/twmb/franz-go's
// kfake, an in-memory implementation of the Kafka protocol, on 127.0.0.1:
// a development aid for trying Sift's Kafka ingest on a laptop, NOT a
// production broker (no persistence, replication or security):
//
//	sift kafka-broker --dev --listen 127.0.0.1:9092 --partitions 8 --topics alerts
//	kcat -P -b 127.0.0.1:9092 -t alerts -K '\t' -X partitioner=murmur2_random <<< $'cluster-a\t{"labels":{"alertname":"Test"}}'
package kafka
