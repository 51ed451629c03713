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
// reads, a read deadline still times a read out (set before the read, or
// while the read is blocked, or through SetDeadline), the timeout does
// not stick (the next read after new data succeeds), and a deadline in
// the past does not fail reads the buffer can serve.
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
	// A deadline set while a read is blocked interrupts it.
	c.SetReadDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(buf)
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("blocked read after a new deadline: %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline set during a blocked read did not interrupt it")
	}
	c.SetDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past SetDeadline: %v, want a timeout", err)
	}
	close(release)
	time.Sleep(100 * time.Millisecond) // "late" is all there: one read gets it
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	late := make([]byte, 2)
	if _, err := io.ReadFull(c, late); err != nil || string(late) != "la" {
		t.Fatalf("read after a timeout: %q, %v", late, err)
	}
	// "te" is in the buffer: an expired deadline does not fail reading it.
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := io.ReadFull(c, late); err != nil || string(late) != "te" {
		t.Fatalf("buffered read with an expired deadline: %q, %v", late, err)
	}
}
