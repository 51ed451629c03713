// Command kafkaload measures Sift's Kafka ingest end to end: a burst of
// alerts is produced to an alerts topic (8 partitions by default), then
// Sift's real consumer (ingest/kafka) drains it into a real pipeline
// (durable journal with fsync, dedup and correlation), committing offsets
// after every durable batch. It reports the drain rate (alerts/s), the
// consumer-lag recovery time after the burst, CPU and memory.
//
// The broker is kfake (in-memory Kafka protocol), run in a child process
// by default (-broker-proc) so that its CPU is not counted in the
// consumer's; both share the machine. With -brokers it uses an existing
// Kafka instead.
//
//	go run ./benchmarks/kafkaload -alerts 1000000 -partitions 8
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/sift-aiops/sift/benchmarks/internal/loadgen"
	"github.com/sift-aiops/sift/benchmarks/internal/machine"
	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/ingest/kafka"
	"github.com/sift-aiops/sift/pipeline"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kafkaload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokerOnly := fs.Bool("broker-only", false, "internal: run only the kfake broker and print its address")
	brokers := fs.String("brokers", "", "comma-separated Kafka brokers; empty: start a kfake broker")
	inproc := fs.Bool("inproc-broker", false, "run the kfake broker in this process instead of a child process")
	partitions := fs.Int("partitions", 8, "partitions of the alerts topic (kfake only)")
	topic := fs.String("topic", "alerts", "alerts topic")
	n := fs.Int("alerts", 1_000_000, "alerts in the burst")
	perMsg := fs.Int("per-message", 1, "alerts per Kafka message (1: one amv2 object; more: a postableAlerts array)")
	distinct := fs.Int("distinct", 20000, "distinct alert identities (the rest are repeats: dedup)")
	format := fs.String("format", "", "consumer format: amv2, webhook, event, or empty to detect per message")
	batch := fs.Int("batch", 1000, "kafka.batch_size (messages per durable batch)")
	wait := fs.Duration("wait", 50*time.Millisecond, "kafka.batch_wait")
	fetchMax := fs.Int("fetch-max-bytes", 0, "kafka.fetch_max_bytes (0: default)")
	queue := fs.Int("queue", 0, "kafka.queue_capacity (0: default)")
	dataDir := fs.String("data-dir", "", "pipeline data directory (default: a new temp dir, removed after)")
	noSync := fs.Bool("nosync", false, "skip fsync in the journal (NOT durable; for comparison only)")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up after this long")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end of the drain to this file")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the drain phase to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *brokerOnly {
		return brokerMain(*partitions, *topic, stdout)
	}
	if *n <= 0 || *perMsg <= 0 || *distinct <= 0 {
		fmt.Fprintln(stderr, "kafkaload: -alerts, -per-message and -distinct must be positive")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	addrs := splitList(*brokers)
	brokerKind := "external"
	brokerPID := 0
	if len(addrs) == 0 {
		if *inproc {
			b, err := kafka.StartDevBroker(kafka.DevBrokerOptions{Partitions: *partitions, Topics: []string{*topic}})
			if err != nil {
				fmt.Fprintf(stderr, "kafkaload: %v\n", err)
				return 1
			}
			defer b.Close()
			addrs = b.Addrs()
			brokerKind = "kfake in process"
		} else {
			cmd, a, err := startBrokerProc(*partitions, *topic)
			if err != nil {
				fmt.Fprintf(stderr, "kafkaload: %v\n", err)
				return 1
			}
			defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
			addrs = a
			brokerKind = "kfake in a child process"
			brokerPID = cmd.Process.Pid
		}
	}

	// 1. The burst.
	msgs := *n / *perMsg
	total := msgs * *perMsg
	fmt.Fprintf(stderr, "producing %d alerts in %d messages to %s (%d partitions, %s)...\n", total, msgs, *topic, *partitions, brokerKind)
	pstart := time.Now()
	if err := produce(addrs, *topic, msgs, *perMsg, *distinct); err != nil {
		fmt.Fprintf(stderr, "kafkaload: produce: %v\n", err)
		return 1
	}
	produceDur := time.Since(pstart)

	// 2. Drain it through Sift.
	dir := *dataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "kafkaload-")
		if err != nil {
			fmt.Fprintf(stderr, "kafkaload: %v\n", err)
			return 1
		}
		defer os.RemoveAll(d)
		dir = d
	}
	p, err := pipeline.Open(pipeline.Options{DataDir: filepath.Clean(dir), NoSync: *noSync, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "kafkaload: %v\n", err)
		return 1
	}
	cfg := kafka.Config{Brokers: addrs, Topic: *topic, Group: "kafkaload", Format: *format, BatchSize: *batch, BatchWait: *wait,
		FetchMaxBytes: *fetchMax, QueueCapacity: *queue}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "kafkaload: %v\n", err)
			return 1
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	// Forget the producer's buffers, so that the memory figures are the consumer's.
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	cpu0 := cpuTime()
	bcpu0 := procCPU(brokerPID)
	var peakHeap uint64
	start := time.Now()
	c, err := kafka.Start(ctx, cfg, ingest.NewDecoder(ingest.Config{}), p, p, nil, log)
	if err != nil {
		fmt.Fprintf(stderr, "kafkaload: %v\n", err)
		return 1
	}
	var firstAt time.Duration
	var samples []sample
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(*timeout)
	ok := true
loop:
	for {
		select {
		case <-tick.C:
		case <-deadline:
			ok = false
			break loop
		case <-ctx.Done():
			ok = false
			break loop
		}
		st := c.Stats()
		el := time.Since(start)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapInuse)
		if firstAt == 0 && st.Committed > 0 {
			firstAt = el
		}
		lag := int64(msgs) - int64(st.Committed)
		if len(samples) == 0 || el-samples[len(samples)-1].At >= time.Second || lag == 0 {
			samples = append(samples, sample{At: el, Lag: lag, Alerts: st.Alerts})
		}
		if st.Committed >= uint64(msgs) {
			break
		}
	}
	drain := time.Since(start)
	cpu := cpuTime() - cpu0
	bcpu := procCPU(brokerPID) - bcpu0
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		if f, err := os.Create(*memProfile); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	st := c.Stats()
	c.Close()
	var es correlate.Stats
	var known, firing, incidents int
	p.View(func(e *correlate.Engine) {
		es = e.Stats()
		known, firing = e.AlertCount()
		incidents = len(e.All())
	})
	if err := p.Close(); err != nil {
		fmt.Fprintf(stderr, "kafkaload: close pipeline: %v\n", err)
	}

	res := result{
		Date: time.Now().UTC().Format(time.RFC3339), Broker: brokerKind, Partitions: *partitions, Alerts: total, Messages: msgs,
		PerMessage: *perMsg, Distinct: *distinct, Format: formatName(*format), Batch: *batch, Wait: wait.String(), Durable: !*noSync,
		ProduceSeconds: produceDur.Seconds(), ProduceRate: float64(total) / produceDur.Seconds(),
		DrainSeconds: drain.Seconds(), AlertsPerSecond: float64(st.Alerts) / drain.Seconds(),
		FirstCommitSeconds: firstAt.Seconds(), CPUSeconds: cpu.Seconds(), AlertsPerCPUSecond: float64(st.Alerts) / cpu.Seconds(),
		PeakRSSMiB: peakRSS() / (1 << 20), PeakHeapMiB: float64(peakHeap) / (1 << 20), BrokerCPUSeconds: bcpu.Seconds(), Consumed: st.Consumed, Committed: st.Committed, Appended: st.Alerts, Batches: st.Batches,
		DeadLettered: st.DeadLettered, Skipped: st.Skipped, EngineAlerts: es.Alerts, Deduplicated: es.Deduplicated,
		Known: known, Firing: firing, Incidents: incidents, Complete: ok && st.Committed >= uint64(msgs), LoadAvg: machine.LoadAvgOr(""),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Samples: samples,
	}
	if *jsonOut {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		e.Encode(res)
	} else {
		res.print(stdout)
	}
	if !res.Complete || es.Alerts != uint64(total) {
		fmt.Fprintf(stderr, "kafkaload: incomplete: committed %d of %d messages, engine applied %d of %d alerts\n", st.Committed, msgs, es.Alerts, total)
		return 1
	}
	return 0
}

type sample struct {
	At     time.Duration `json:"at"`
	Lag    int64         `json:"lagMessages"`
	Alerts uint64        `json:"alerts"`
}

type result struct {
	Date               string   `json:"date"`
	Broker             string   `json:"broker"`
	Partitions         int      `json:"partitions"`
	Alerts             int      `json:"alerts"`
	Messages           int      `json:"messages"`
	PerMessage         int      `json:"alertsPerMessage"`
	Distinct           int      `json:"distinct"`
	Format             string   `json:"format"`
	Batch              int      `json:"batchSize"`
	Wait               string   `json:"batchWait"`
	Durable            bool     `json:"durable"`
	ProduceSeconds     float64  `json:"produceSeconds"`
	ProduceRate        float64  `json:"produceAlertsPerSecond"`
	DrainSeconds       float64  `json:"drainSeconds"`
	AlertsPerSecond    float64  `json:"alertsPerSecond"`
	FirstCommitSeconds float64  `json:"firstCommitSeconds"`
	CPUSeconds         float64  `json:"consumerCPUSeconds"`
	AlertsPerCPUSecond float64  `json:"alertsPerCPUSecond"`
	PeakRSSMiB         float64  `json:"peakRSSMiB"`
	PeakHeapMiB        float64  `json:"peakHeapInuseMiB"`
	BrokerCPUSeconds   float64  `json:"brokerCPUSeconds"`
	Consumed           uint64   `json:"consumed"`
	Committed          uint64   `json:"committed"`
	Appended           uint64   `json:"appended"`
	Batches            uint64   `json:"batches"`
	DeadLettered       uint64   `json:"deadLettered"`
	Skipped            uint64   `json:"skipped"`
	EngineAlerts       uint64   `json:"engineAlerts"`
	Deduplicated       uint64   `json:"deduplicated"`
	Known              int      `json:"knownAlerts"`
	Firing             int      `json:"firing"`
	Incidents          int      `json:"incidents"`
	Complete           bool     `json:"complete"`
	LoadAvg            string   `json:"loadAvg"`
	GOMAXPROCS         int      `json:"gomaxprocs"`
	Samples            []sample `json:"lagSamples"`
}

func (r result) print(w io.Writer) {
	fmt.Fprintf(w, "date               %s (load average before/after: %s)\n", r.Date, r.LoadAvg)
	fmt.Fprintf(w, "broker             %s, %d partitions\n", r.Broker, r.Partitions)
	fmt.Fprintf(w, "burst              %d alerts in %d messages (%d per message), %d distinct identities\n", r.Alerts, r.Messages, r.PerMessage, r.Distinct)
	fmt.Fprintf(w, "consumer           format=%s batch_size=%d batch_wait=%s durable(fsync)=%v\n", r.Format, r.Batch, r.Wait, r.Durable)
	fmt.Fprintf(w, "produce            %.2f s (%.0f alerts/s)\n", r.ProduceSeconds, r.ProduceRate)
	fmt.Fprintf(w, "drain (lag -> 0)   %.2f s  => %.0f alerts/s end to end (first commit after %.2f s)\n", r.DrainSeconds, r.AlertsPerSecond, r.FirstCommitSeconds)
	fmt.Fprintf(w, "consumer CPU       %.2f s (%.0f alerts per CPU-second); broker CPU %.2f s\n", r.CPUSeconds, r.AlertsPerCPUSecond, r.BrokerCPUSeconds)
	fmt.Fprintf(w, "memory             peak RSS %.0f MiB, peak Go heap in use %.0f MiB\n", r.PeakRSSMiB, r.PeakHeapMiB)
	fmt.Fprintf(w, "counts             consumed=%d committed=%d appended=%d batches=%d dead=%d skipped=%d\n", r.Consumed, r.Committed, r.Appended, r.Batches, r.DeadLettered, r.Skipped)
	fmt.Fprintf(w, "engine             applied=%d deduplicated=%d known=%d firing=%d incidents=%d\n", r.EngineAlerts, r.Deduplicated, r.Known, r.Firing, r.Incidents)
	fmt.Fprintf(w, "lag (messages)    ")
	for _, s := range r.Samples {
		fmt.Fprintf(w, " %.0fs:%d", s.At.Seconds(), s.Lag)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "complete           %v\n", r.Complete)
}

func formatName(f string) string {
	if f == "" {
		return "detect"
	}
	return f
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func brokerMain(partitions int, topic string, stdout io.Writer) int {
	b, err := kafka.StartDevBroker(kafka.DevBrokerOptions{Partitions: partitions, Topics: []string{topic}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "kafkaload broker: %v\n", err)
		return 1
	}
	defer b.Close()
	fmt.Fprintf(stdout, "%s\n", strings.Join(b.Addrs(), ","))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return 0
}

func startBrokerProc(partitions int, topic string) (*exec.Cmd, []string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(exe, "-broker-only", "-partitions", fmt.Sprint(partitions), "-topic", topic)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, nil, fmt.Errorf("broker process: %v", err)
	}
	return cmd, splitList(strings.TrimSpace(line)), nil
}

// alertJSON returns the i-th distinct alert (9 labels, 2 annotations) as
// an Alertmanager v2 alert object, and its cluster (the message key).
func alertJSON(i int, startsAt, endsAt string) ([]byte, string) {
	ls := loadgen.LabelSet(i)
	ann := map[string]string{
		"summary":     fmt.Sprintf("%s on %s (%s)", ls["alertname"], ls["instance"], ls["service"]),
		"description": fmt.Sprintf("%s has fired for %s in %s/%s.", ls["alertname"], ls["pod"], ls["cluster"], ls["namespace"]),
	}
	b, _ := json.Marshal(map[string]any{"labels": ls, "annotations": ann, "startsAt": startsAt, "endsAt": endsAt,
		"generatorURL": "http://prometheus.example/graph"})
	return b, ls["cluster"]
}

// produce writes msgs messages of perMsg alerts, keyed by cluster, cycling
// over distinct identities; endsAt is 1 h ahead so that nothing expires.
func produce(addrs []string, topic string, msgs, perMsg, distinct int) error {
	now := time.Now().UTC()
	startsAt := now.Add(-time.Minute).Format(time.RFC3339)
	endsAt := now.Add(time.Hour).Format(time.RFC3339)
	corpus := make([][]byte, distinct)
	keys := make([]string, distinct)
	for i := range corpus {
		corpus[i], keys[i] = alertJSON(i, startsAt, endsAt)
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(addrs...), Topic: topic, Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll,
		BatchSize: 5000, BatchBytes: 1_000_000, BatchTimeout: 5 * time.Millisecond, AllowAutoTopicCreation: true}
	defer w.Close()
	ctx := context.Background()
	chunk := max(1, 20000/perMsg) // messages per WriteMessages call: ~20000 alerts
	buf := make([]kafkago.Message, 0, chunk)
	k := 0
	for m := 0; m < msgs; m++ {
		var v []byte
		key := keys[k%distinct]
		if perMsg == 1 {
			v = corpus[k%distinct]
			k++
		} else {
			v = append(v, '[')
			for j := 0; j < perMsg; j++ {
				if j > 0 {
					v = append(v, ',')
				}
				v = append(v, corpus[k%distinct]...)
				k++
			}
			v = append(v, ']')
		}
		buf = append(buf, kafkago.Message{Key: []byte(key), Value: v})
		if len(buf) == chunk || m == msgs-1 {
			if err := w.WriteMessages(ctx, buf...); err != nil {
				if we, ok := err.(kafkago.WriteErrors); ok {
					for _, e := range we {
						if e != nil {
							return fmt.Errorf("%d of %d messages failed, first: %w", we.Count(), len(we), e)
						}
					}
				}
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns utime+stime of process pid (0: none) from /proc.
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ = 100 on Linux
}

// resetPeakRSS resets VmHWM (Linux: write 5 to /proc/self/clear_refs).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")), "%f", &kb)
			return kb * 1024
		}
	}
	return 0
}
