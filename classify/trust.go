package classify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Trust measures, per model, how often its team proposals matched the
// team agents finally decided (an agent's classification of the incident),
// so that the gating of WithTriage follows what a model has shown rather
// than what it claims: a model right on nearly every incident agents
// checked is trusted against kNN's unconfident candidate; one wrong on
// most of them is not followed at all, even where it agrees with kNN.
// Until TrustMinSamples proposals are checked, the default gating holds.
//
// The counts are kept in a small JSON file (data_dir/llm/trust.json).
type Trust struct {
	mu   sync.Mutex
	path string
	m    map[string]*trustStat
}

type trustStat struct {
	Checked int `json:"checked"` // team proposals an agent's decision checked
	Right   int `json:"right"`   // of which the agent's team was the proposal
}

// Trust thresholds.
const (
	TrustMinSamples = 20
	TrustHigh       = 0.8 // smoothed precision at or above: trusted against kNN's candidate
	TrustLow        = 0.5 // below: its proposals are not followed
)

// OpenTrust reads the counts from path ("" keeps them in memory only).
func OpenTrust(path string) (*Trust, error) {
	t := &Trust{path: path, m: map[string]*trustStat{}}
	if path == "" {
		return t, nil
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return t, nil
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal(b, &t.m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if t.m == nil {
		t.m = map[string]*trustStat{}
	}
	return t, nil
}

// Record counts one proposal of model checked against the agents' final
// team (both non-empty).
func (t *Trust) Record(model, proposed, final string) error {
	if t == nil || model == "" || proposed == "" || final == "" {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[model]
	if s == nil {
		s = &trustStat{}
		t.m[model] = s
	}
	s.Checked++
	if proposed == final {
		s.Right++
	}
	if t.path == "" {
		return nil
	}
	b, _ := json.Marshal(t.m)
	tmp := t.path + ".tmp"
	if err := os.MkdirAll(filepath.Dir(t.path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, t.path)
}

// Level returns model's smoothed precision ((right+1)/(checked+2)) and how
// many proposals were checked.
func (t *Trust) Level(model string) (float64, int) {
	if t == nil {
		return 0.5, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[model]
	if s == nil {
		return 0.5, 0
	}
	return (float64(s.Right) + 1) / (float64(s.Checked) + 2), s.Checked
}
