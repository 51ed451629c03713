// Package journal is Sift's durable write-ahead log: every accepted batch
// of alerts and every agent action is committed here before anyone is
// told it was accepted. The incident state is a deterministic function of
// the journal, so it is rebuilt on start from the latest snapshot plus the
// records after it.
//
// It is stored in a bbolt file under the data directory. Concurrent
// appends are group-committed: one transaction and one fsync serve every
// append waiting at that moment, so durability costs little throughput.
package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sift-aiops/sift/model"
)

var (
	bucketLog  = []byte("log")
	bucketMeta = []byte("meta")
	bucketCur  = []byte("cursors")
	keySnap    = []byte("snapshot")
	keySnapSeq = []byte("snapshot_seq")
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("journal: closed")

// Options tune the journal.
type Options struct {
	// MaxGroup bounds the records committed in one transaction.
	MaxGroup int
	// NoSync skips fsync (tests and benchmarks of the CPU path only).
	NoSync bool
	// OnCommit is called from one goroutine, in sequence order, with the
	// records of each committed group before their appenders are released.
	OnCommit func([]*model.Record)
	// Observe, if set, receives each group's commit latency and size.
	Observe func(d time.Duration, records int)
}

// Journal is the durable log.
type Journal struct {
	db      *bolt.DB
	opts    Options
	reqs    chan *request
	applyCh chan committed
	applyWG sync.WaitGroup
	done    chan struct{}
	wg      sync.WaitGroup
	closeMu sync.RWMutex // guards closed and the send on reqs
	mu      sync.RWMutex // guards cursors and lastSeq
	cursors map[string]int64
	closed  bool
	lastSeq uint64
}

type request struct {
	rec  *model.Record
	data []byte // rec encoded by the appender (see appendRecord)
	err  chan error
}

// encPool holds encoders. An encoder's buffer is reused only after its
// Append has returned, i.e. after the transaction that wrote it ended.
var encPool = sync.Pool{New: func() any { return &encoder{buf: make([]byte, 0, 4096)} }}

// maxPooledBuf bounds the buffers kept for reuse.
const maxPooledBuf = 1 << 20

// Open opens (creating if needed) the journal in dir.
func Open(dir string, opts Options) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("journal: data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, "journal.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        2 * time.Second,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		NoSync:         opts.NoSync,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("journal: %s is locked by another process (is another sift running on this data dir?)", path)
		}
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 4096
	}
	j := &Journal{db: db, opts: opts, reqs: make(chan *request, 4096), done: make(chan struct{}), cursors: map[string]int64{}}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketLog, bucketMeta, bucketCur} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		j.lastSeq = tx.Bucket(bucketLog).Sequence()
		return tx.Bucket(bucketCur).ForEach(func(k, v []byte) error {
			j.cursors[string(k)] = int64(binary.BigEndian.Uint64(v))
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("journal: initialise %s: %w", path, err)
	}
	j.applyCh = make(chan committed, 1)
	j.applyWG.Add(1)
	go j.applyLoop()
	j.wg.Add(1)
	go func() {
		j.commitLoop()
		close(j.applyCh)
	}()
	return j, nil
}

// Append makes rec durable and returns once it is. rec.Seq is assigned.
//
// The record is encoded here, on the caller's goroutine, so that encoding
// runs in parallel across appenders; the single committer only writes
// bytes. rec must not be modified until Append returns.
func (j *Journal) Append(ctx context.Context, rec *model.Record) error {
	e := encPool.Get().(*encoder)
	defer func() {
		// The string table is bounded by maxShared entries: keep it
		// whatever its size, or every batch of more than a few hundred
		// alerts would build a new one (most of the allocation of a
		// Kafka ingest burst).
		if cap(e.buf) <= maxPooledBuf {
			e.buf = e.buf[:0]
			clear(e.strs) // do not keep the caller's strings alive
			encPool.Put(e)
		}
	}()
	e.buf = e.buf[:0]
	data, err := e.encode(rec)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	req := &request{rec: rec, data: data, err: make(chan error, 1)}
	j.closeMu.RLock()
	if j.closed {
		j.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case j.reqs <- req:
	case <-ctx.Done():
		j.closeMu.RUnlock()
		return ctx.Err()
	}
	j.closeMu.RUnlock()
	// Once queued, the record will be committed or fail; wait for the
	// outcome even if the caller goes away, so that "2xx" is never a lie
	// and an error is never reported for a record that did land.
	return <-req.err
}

func (j *Journal) commitLoop() {
	defer j.wg.Done()
	group := make([]*request, 0, j.opts.MaxGroup)
	for {
		req, ok := <-j.reqs
		if !ok {
			return
		}
		group = append(group[:0], req)
	fill:
		for len(group) < j.opts.MaxGroup {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					break fill
				}
				group = append(group, r)
			default:
				break fill
			}
		}
		j.commit(group)
	}
}

func (j *Journal) commit(group []*request) {
	start := time.Now()
	recs := make([]*model.Record, len(group))
	for i, r := range group {
		recs[i] = r.rec
	}
	var newCursors map[string]int64
	err := j.db.Update(func(tx *bolt.Tx) error {
		lb := tx.Bucket(bucketLog)
		cb := tx.Bucket(bucketCur)
		var key [8]byte
		for i, rec := range recs {
			seq, err := lb.NextSequence()
			if err != nil {
				return err
			}
			rec.Seq = seq
			binary.BigEndian.PutUint64(key[:], seq)
			if err := lb.Put(key[:], group[i].data); err != nil {
				return err
			}
			if rec.Batch != nil {
				for k, off := range rec.Batch.Cursors {
					if cur, ok := j.cursorLocked(newCursors, k); ok && cur >= off {
						continue
					}
					var v [8]byte
					binary.BigEndian.PutUint64(v[:], uint64(off))
					if err := cb.Put([]byte(k), v[:]); err != nil {
						return err
					}
					if newCursors == nil {
						newCursors = map[string]int64{}
					}
					newCursors[k] = off
				}
			}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("journal: commit: %w", err)
		for _, r := range group {
			r.err <- err
		}
		return
	}
	j.mu.Lock()
	for k, v := range newCursors {
		j.cursors[k] = v
	}
	j.lastSeq = recs[len(recs)-1].Seq
	j.mu.Unlock()
	if j.opts.Observe != nil {
		j.opts.Observe(time.Since(start), len(recs))
	}
	// Hand the group to the applier: it runs OnCommit and releases the
	// appenders while this goroutine already writes the next group, so
	// the CPU work of applying overlaps the fsync of the next commit.
	j.applyCh <- committed{recs: recs, group: append([]*request(nil), group...)}
}

type committed struct {
	recs  []*model.Record
	group []*request
}

// applyLoop runs OnCommit for committed groups, in order, then tells their
// appenders that the records are durable (and applied).
func (j *Journal) applyLoop() {
	defer j.applyWG.Done()
	for c := range j.applyCh {
		if j.opts.OnCommit != nil {
			j.opts.OnCommit(c.recs)
		}
		for _, r := range c.group {
			r.err <- nil
		}
	}
}

func (j *Journal) cursorLocked(pending map[string]int64, k string) (int64, bool) {
	if v, ok := pending[k]; ok {
		return v, true
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	v, ok := j.cursors[k]
	return v, ok
}

// Cursor implements model.CursorStore.
func (j *Journal) Cursor(key string) (int64, bool) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	v, ok := j.cursors[key]
	return v, ok
}

// LastSeq returns the sequence number of the last committed record.
func (j *Journal) LastSeq() uint64 {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.lastSeq
}

// Replay calls fn for every record with Seq > after, in order.
func (j *Journal) Replay(after uint64, fn func(*model.Record) error) error {
	return j.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		var from [8]byte
		binary.BigEndian.PutUint64(from[:], after+1)
		for k, v := c.Seek(from[:]); k != nil; k, v = c.Next() {
			seq := binary.BigEndian.Uint64(k)
			rec, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("journal: record %d: %w", seq, err)
			}
			rec.Seq = seq
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// SaveSnapshot stores state as of seq and drops the records it covers.
func (j *Journal) SaveSnapshot(seq uint64, state []byte) error {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	err := j.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if err := m.Put(keySnap, state); err != nil {
			return err
		}
		return m.Put(keySnapSeq, s[:])
	})
	if err != nil {
		return fmt.Errorf("journal: save snapshot: %w", err)
	}
	return j.truncate(seq)
}

// truncate deletes records with Seq <= upTo, in small transactions so that
// appends are not held up.
func (j *Journal) truncate(upTo uint64) error {
	for {
		n := 0
		err := j.db.Update(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketLog).Cursor()
			for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= upTo && n < 10000; k, _ = c.Next() {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("journal: truncate: %w", err)
		}
		if n < 10000 {
			return nil
		}
	}
}

// LoadSnapshot returns the latest snapshot and the sequence it covers.
func (j *Journal) LoadSnapshot() (state []byte, seq uint64, err error) {
	err = j.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if v := m.Get(keySnap); v != nil {
			state = append([]byte(nil), v...)
		}
		if v := m.Get(keySnapSeq); len(v) == 8 {
			seq = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return state, seq, err
}

// Close stops accepting appends, commits what is queued and closes the file.
func (j *Journal) Close() error {
	j.closeMu.Lock()
	if j.closed {
		j.closeMu.Unlock()
		return nil
	}
	j.closed = true
	close(j.reqs)
	j.closeMu.Unlock()
	j.wg.Wait()
	j.applyWG.Wait()
	return j.db.Close()
}
