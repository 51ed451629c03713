package kafka

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

func TestDevBrokerMainNeedsDev(t *testing.T) {
	var out, errb bytes.Buffer
	if code := DevBrokerMain(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--dev") {
		t.Errorf("without --dev: exit %d, stderr %q; want 2 and a message asking for --dev", code, errb.String())
	}
	errb.Reset()
	if code := DevBrokerMain([]string{"--dev", "--topics", "bad topic"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "invalid topic") {
		t.Errorf("bad topic: exit %d, stderr %q", code, errb.String())
	}
}

// TestDevBrokerMain runs `sift kafka-broker --dev` on a free port, uses it
// with kafka-go, and stops it with SIGTERM.
func TestDevBrokerMain(t *testing.T) {
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- DevBrokerMain([]string{"--dev", "--listen", "127.0.0.1:0", "--partitions", "3", "--topics", "alerts,other"}, pw, &errb)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no address printed: %v (stderr %q)", err, errb.String())
	}
	go io.Copy(io.Discard, pr)
	i := strings.LastIndex(line, " ")
	addr := strings.TrimSpace(line[i+1:])
	if !strings.HasPrefix(addr, "127.0.0.1:") || !strings.Contains(line, "development") {
		t.Fatalf("first line %q: want the development notice and a 127.0.0.1 address", line)
	}
	conn, err := kafkago.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions("alerts")
	conn.Close()
	if err != nil || len(parts) != 3 {
		t.Errorf("alerts topic: %d partitions, err %v; want 3", len(parts), err)
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after SIGTERM, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("broker did not stop on SIGTERM")
	}
}
