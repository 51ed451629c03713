package kafka

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"
)

// readBufferSize is the read buffer of the consumer's broker connections.
// kafka-go reads a fetch response through a 4 KiB bufio.Reader, i.e. one
// read system call per 4 KiB (about ten small messages) of a burst; a
// larger buffer under it makes that one call per 64 KiB.
const readBufferSize = 64 << 10

// dialBuffered dials like kafka-go's default dialer and buffers reads.
func dialBuffered(timeout time.Duration) func(ctx context.Context, network, address string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		bc := &bufferedConn{Conn: c}
		bc.r = bufio.NewReaderSize(connReader{bc}, readBufferSize)
		return bc, nil
	}
}

// bufferedConn is a net.Conn whose reads go through a buffer.
//
// kafka-go sets a read deadline before every message it reads, most of
// which come from the buffer; setting it on the connection each time (a
// runtime timer update) cost 2 % of the consumer's CPU. So the read
// deadline is only recorded, and set on the connection before a read
// that reaches it, or at once while such a read is waiting (so that it
// still interrupts a blocked read). bufio.Reader returns a read error
// once and then reads again, so a read timeout does not stick.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	rd      time.Time // the read deadline last asked for
	applied time.Time // the read deadline set on the connection
	reading bool      // a read is waiting on the connection
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *bufferedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rd = t
	if c.reading && !t.Equal(c.applied) {
		c.applied = t
		return c.Conn.SetReadDeadline(t)
	}
	return nil
}

func (c *bufferedConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// connReader is what the buffer reads from: the connection, with the
// read deadline last asked for.
type connReader struct{ c *bufferedConn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	c.mu.Lock()
	if !c.rd.Equal(c.applied) {
		if err := c.Conn.SetReadDeadline(c.rd); err != nil {
			c.mu.Unlock()
			return 0, err
		}
		c.applied = c.rd
	}
	c.reading = true
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.reading = false
	c.mu.Unlock()
	return n, err
}
