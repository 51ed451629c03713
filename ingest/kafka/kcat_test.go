package kafka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/internal/testenv"
)

// TestKcatProducer produces with kcat (librdkafka, a client that is neither
// Go nor ours: snappy compression, acks=all, keyed messages) into the kfake
// broker and checks that Sift consumed every alert and dead-lettered the
// bad line; then reads the dead-letter topic back with kcat.
func TestKcatProducer(t *testing.T) {
	kcat := testenv.Require(t, "kcat")["kcat"]
	b := startBroker(t, 4, "alerts")
	p := openPipeline(t, t.TempDir())
	defer p.Close()
	c := start(t, testConfig(b, "kcat"), p, nil)
	defer c.Close()

	const n = 500
	var in bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, "cluster-%d\t%s\n", i%3, amv2(i))
	}
	fmt.Fprintf(&in, "cluster-9\t%s\n", `{"name":"KcatEvent","service":"payments","severity":"critical","summary":"from kcat"}`)
	fmt.Fprintf(&in, "cluster-9\t%s\n", `not json at all`)
	cmd := exec.Command(kcat, "-P", "-b", strings.Join(b.Addrs(), ","), "-t", "alerts", "-K", "\t", "-z", "snappy", "-X", "acks=all")
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	testenv.WaitFor(t, 60*time.Second, "kcat's messages committed", func() bool { return c.Stats().Committed == n+2 })
	if got := knownAlerts(p); got != n+1 {
		t.Errorf("pipeline has %d alerts, want %d", got, n+1)
	}
	found := false
	for _, a := range p.Alerts() {
		if a.Name() == "KcatEvent" && a.Labels["service"] == "payments" {
			found = true
		}
	}
	if !found {
		t.Error("the generic event produced by kcat is not in the pipeline")
	}
	if st := c.Stats(); st.DeadLettered != 1 {
		t.Errorf("dead-lettered %d messages, want 1", st.DeadLettered)
	}

	out, err := exec.Command(kcat, "-C", "-b", strings.Join(b.Addrs(), ","), "-t", "alerts.dlq", "-o", "beginning", "-e", "-J", "-q").Output()
	if err != nil {
		t.Fatalf("kcat -C alerts.dlq: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 {
		t.Fatalf("kcat read %d dead letters, want 1:\n%s", len(lines), out)
	}
	var dl struct {
		Key     string   `json:"key"`
		Payload string   `json:"payload"`
		Headers []string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &dl); err != nil {
		t.Fatalf("kcat -J output %q: %v", lines[0], err)
	}
	h := map[string]string{}
	for i := 0; i+1 < len(dl.Headers); i += 2 {
		h[dl.Headers[i]] = dl.Headers[i+1]
	}
	if dl.Key != "cluster-9" || dl.Payload != "not json at all" {
		t.Errorf("dead letter key %q payload %q, want the original", dl.Key, dl.Payload)
	}
	if h[HeaderOriginalTopic] != "alerts" || h[HeaderOriginalOffset] == "" || h[HeaderOriginalPartition] == "" || h[HeaderErrorReason] != "invalid_json" || h[HeaderError] == "" {
		t.Errorf("dead letter headers %v", h)
	}
}
