package kafka

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DevBroker is an in-process Kafka-protocol cluster (kfake) for tests,
// benchmarks and local trials. It keeps everything in memory and is a
// DEVELOPMENT AID, NOT A PRODUCTION BROKER: no replication, no
// persistence, no security, no quotas.
type DevBroker struct {
	c *kfake.Cluster
}

// DevBrokerOptions configure StartDevBroker.
type DevBrokerOptions struct {
	// Listen is host:port of the first broker (port 0: any free port;
	// further brokers take the following ports, or free ones for 0).
	Listen     string
	Brokers    int
	Partitions int      // partitions of the seeded and auto-created topics
	Topics     []string // topics created at start
}

// StartDevBroker starts a kfake cluster with auto topic creation on.
func StartDevBroker(o DevBrokerOptions) (*DevBroker, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Brokers <= 0 {
		o.Brokers = 1
	}
	if o.Partitions <= 0 {
		o.Partitions = 8
	}
	host, portStr, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %v", o.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("listen address %q: bad port", o.Listen)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ports := make([]int, o.Brokers)
	for i := range ports {
		if port != 0 {
			ports[i] = port + i
		}
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(o.Brokers),
		kfake.Ports(ports...),
		kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, p, _ := net.SplitHostPort(addr)
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(o.Partitions),
	}
	if len(o.Topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(o.Partitions), o.Topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, err
	}
	return &DevBroker{c: c}, nil
}

// Addrs returns the brokers' host:port addresses.
func (b *DevBroker) Addrs() []string { return b.c.ListenAddrs() }

// Cluster returns the underlying kfake cluster (tests use it to move
// partitions or inject failures).
func (b *DevBroker) Cluster() *kfake.Cluster { return b.c }

// Close stops the brokers; everything they held is gone.
func (b *DevBroker) Close() { b.c.Close() }

// DevBrokerMain implements `sift kafka-broker --dev`: it runs an in-memory
// Kafka-protocol broker (kfake) on loopback until SIGINT or SIGTERM.
func DevBrokerMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kafka-broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dev := fs.Bool("dev", false, "required: acknowledge that this is an in-memory development broker, not a production Kafka")
	listen := fs.String("listen", "127.0.0.1:9092", "host:port of the first broker (further brokers use the next ports)")
	brokers := fs.Int("brokers", 1, "number of brokers")
	partitions := fs.Int("partitions", 8, "partitions of each created topic (also of auto-created topics)")
	topics := fs.String("topics", DefaultTopic, "comma-separated topics to create at start")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sift kafka-broker --dev [--listen 127.0.0.1:9092] [--brokers 1] [--partitions 8] [--topics alerts]\n\n"+
			"Runs an in-memory Kafka-protocol broker (github.com/twmb/franz-go/pkg/kfake) for local trials of\n"+
			"Sift's Kafka ingest. It is a development aid, NOT a production broker: nothing is persisted,\n"+
			"replicated or secured. Topics are created on first use as well.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sift kafka-broker: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if !*dev {
		fmt.Fprintln(stderr, "sift kafka-broker: this is an in-memory development broker, not a production Kafka; pass --dev to run it")
		return 2
	}
	if *brokers < 1 || *brokers > 16 {
		fmt.Fprintf(stderr, "sift kafka-broker: --brokers must be between 1 and 16, got %d\n", *brokers)
		return 2
	}
	if *partitions < 1 || *partitions > 10000 {
		fmt.Fprintf(stderr, "sift kafka-broker: --partitions must be between 1 and 10000, got %d\n", *partitions)
		return 2
	}
	var ts []string
	for _, t := range strings.Split(*topics, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if err := validTopic(t); err != nil {
			fmt.Fprintf(stderr, "sift kafka-broker: --topics: %v\n", err)
			return 2
		}
		ts = append(ts, t)
	}
	b, err := StartDevBroker(DevBrokerOptions{Listen: *listen, Brokers: *brokers, Partitions: *partitions, Topics: ts})
	if err != nil {
		fmt.Fprintf(stderr, "sift kafka-broker: %v\n", err)
		return 1
	}
	defer b.Close()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	fmt.Fprintf(stdout, "sift kafka-broker (development only, in memory) listening on %s\n", strings.Join(b.Addrs(), ","))
	fmt.Fprintf(stdout, "topics: %s (%d partitions each); set kafka.brokers: [%s] in sift's config\n",
		strings.Join(ts, ","), *partitions, strings.Join(b.Addrs(), ", "))
	s := <-sig
	fmt.Fprintf(stdout, "sift kafka-broker: %s, stopping\n", s)
	return 0
}
