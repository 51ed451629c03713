package kafka

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestBufferedConn checks the consumer's buffered broker connection over
// real loopback TCP: bytes arrive intact and in order through small
// reads, a read deadline still times a read out, and the timeout does not
// stick (the next read after new data succeeds).
func TestBufferedConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	payload := make([]byte, 3*readBufferSize+123)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	release := make(chan struct{})
	go func() {
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		s.Write(payload)
		<-release
		s.Write([]byte("late"))
	}()
	c, err := dialBuffered(time.Second)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make([]byte, 0, len(payload))
	buf := make([]byte, 4096-17) // kafka-go's reads are small
	for len(got) < len(payload) {
		n, err := c.Read(buf[:min(len(buf), len(payload)-len(got))])
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	for i := range payload {
		if got[i] != payload[i] {
			t.Fatalf("byte %d differs", i)
		}
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	close(release)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	late := make([]byte, 4)
	if _, err := io.ReadFull(c, late); err != nil || string(late) != "late" {
		t.Fatalf("read after a timeout: %q, %v", late, err)
	}
}
