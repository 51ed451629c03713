package kafka

import (
	"bufio"
	"context"
	"net"
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
		return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize)}, nil
	}
}

// bufferedConn is a net.Conn whose reads go through a buffer. Deadlines
// still apply to every read that reaches the connection; bufio.Reader
// returns a read error once and then reads again, so a read timeout does
// not stick.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
