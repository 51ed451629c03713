package history

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// Dirs returns the directories of the embedded store and of the spool.
func (c Config) Dirs(dataDir string) (store, spool string) {
	base := c.Dir
	if base == "" {
		base = filepath.Join(dataDir, "history")
	}
	return filepath.Join(base, "store"), filepath.Join(base, "spool")
}

// Open returns the configured store: ClickHouse when history.clickhouse is
// set (connected, and migrated, on first use if it cannot be reached now:
// the spool holds what comes meanwhile), else the embedded store.
func Open(ctx context.Context, c Config, dataDir string) (Store, error) {
	c = c.WithDefaults()
	if err := c.CheckEnv(); err != nil {
		return nil, err
	}
	if c.ClickHouse == nil {
		dir, _ := c.Dirs(dataDir)
		return OpenEmbedded(dir)
	}
	l := &lazyClickHouse{cfg: c.ClickHouse}
	if _, err := l.get(ctx); err != nil {
		return l, err
	}
	return l, nil
}

// ErrNotConnected: ClickHouse could not be reached yet.
var ErrNotConnected = errors.New("history: clickhouse not reachable yet")

// lazyClickHouse connects to ClickHouse on first use, and again after a
// failed attempt at most every retryConnect.
type lazyClickHouse struct {
	cfg  *ClickHouseConfig
	mu   sync.Mutex
	s    *ClickHouse
	last time.Time
	err  error
}

const retryConnect = 5 * time.Second

func (l *lazyClickHouse) get(ctx context.Context) (*ClickHouse, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s != nil {
		return l.s, nil
	}
	if !l.last.IsZero() && time.Since(l.last) < retryConnect {
		return nil, fmt.Errorf("%w: %v", ErrNotConnected, l.err)
	}
	l.last = time.Now()
	s, err := OpenClickHouse(ctx, l.cfg)
	if err != nil {
		l.err = err
		return nil, err
	}
	l.s = s
	return s, nil
}

func (l *lazyClickHouse) Write(ctx context.Context, b *Batch) error {
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	return s.Write(ctx, b)
}

func (l *lazyClickHouse) Volume(ctx context.Context, q Query) ([]VolumeRow, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.Volume(ctx, q)
}

func (l *lazyClickHouse) Incidents(ctx context.Context, since, until time.Time) ([]IncidentFact, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.Incidents(ctx, since, until)
}

func (l *lazyClickHouse) AlertNames(ctx context.Context, since, until time.Time) ([]NameStat, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.AlertNames(ctx, since, until)
}

func (l *lazyClickHouse) Counts(ctx context.Context) (int64, int64, error) {
	s, err := l.get(ctx)
	if err != nil {
		return 0, 0, err
	}
	return s.Counts(ctx)
}

func (l *lazyClickHouse) Kind() string { return "clickhouse" }

func (l *lazyClickHouse) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s != nil {
		return l.s.Close()
	}
	return nil
}

// ResponseSummary, ProblemSummary and SignatureSummary: the analytics'
// summaries on incident_facts (factSummarizer).
func (l *lazyClickHouse) ResponseSummary(ctx context.Context, since, until time.Time, by string) (map[[2]string]*responseAcc, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.ResponseSummary(ctx, since, until, by)
}

func (l *lazyClickHouse) ProblemSummary(ctx context.Context, since, until time.Time) (map[string]*ProblemRow, map[string][]float64, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	return s.ProblemSummary(ctx, since, until)
}

func (l *lazyClickHouse) SignatureSummary(ctx context.Context, since, until, split time.Time) (map[string]*SignatureCounts, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.SignatureSummary(ctx, since, until, split)
}

var _ factSummarizer = (*lazyClickHouse)(nil)

// VolumeTop: volumeRanker.
func (l *lazyClickHouse) VolumeTop(ctx context.Context, q Query, limit int) ([]VolumeRow, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.VolumeTop(ctx, q, limit)
}

var _ volumeRanker = (*lazyClickHouse)(nil)
