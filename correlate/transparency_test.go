package correlate_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/model"
)

// A restart at any point of a realistic storm (cascades, host failures,
// noise, flaps, late deliveries, symptoms moving on recovery) must not
// change what the engine decides afterwards: an engine restored from
// snapshots taken along the way ends exactly where an uninterrupted one
// does.
func TestRestartsAlongAStormChangeNothing(t *testing.T) {
	cfg := storm.Config{Seed: 5, Duration: 12 * time.Hour}.WithDefaults()
	sc, err := storm.NewSiftConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var replay bytes.Buffer
	if _, err := storm.Generate(cfg, &replay, io.Discard); err != nil {
		t.Fatal(err)
	}
	var batches []*model.Batch
	s := bufio.NewScanner(&replay)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		var l storm.ReplayLine
		if err := json.Unmarshal(s.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		delete(l.Alert.Labels, "replica")
		batches = append(batches, &model.Batch{At: l.At, Alerts: []model.Alert{l.Alert}})
	}
	ccfg := correlate.Config{GroupBy: sc.Correlate.GroupBy, InfraLabels: sc.Correlate.InfraLabels}
	topo := correlate.Topology{Label: sc.Topology.Label, DependsOn: map[string][]string{}}
	for k, v := range sc.Topology.DependsOn {
		topo.DependsOn[k] = v
	}
	straight := correlate.New(ccfg, topo)
	for _, b := range batches {
		straight.ApplyBatch(b)
	}
	split := correlate.New(ccfg, topo)
	restarts := 0
	for i, b := range batches {
		if i%1500 == 700 {
			snap, err := split.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			split = correlate.New(ccfg, topo)
			if err := split.Restore(snap); err != nil {
				t.Fatal(err)
			}
			restarts++
		}
		split.ApplyBatch(b)
	}
	a, _ := json.Marshal(straight.All())
	b, _ := json.Marshal(split.All())
	if !bytes.Equal(a, b) {
		sa, sb := straight.All(), split.All()
		for i := range min(len(sa), len(sb)) {
			x, _ := json.MarshalIndent(sa[i], "", " ")
			y, _ := json.MarshalIndent(sb[i], "", " ")
			if !bytes.Equal(x, y) {
				t.Logf("first difference at incident %d:\n%s\n----\n%s", i, x, y)
				break
			}
		}
		t.Fatalf("after %d restarts the incidents differ (%d vs %d bytes)", restarts, len(a), len(b))
	}
	if sa, sb := straight.Stats(), split.Stats(); sa != sb {
		t.Fatalf("stats differ: %+v vs %+v", sa, sb)
	}
	st := straight.Stats()
	t.Logf("%d notifications, %d restarts, %d incidents, %d noise episodes, %d moved", len(batches), restarts, st.IncidentsOpened, st.NoiseEpisodes, st.Moved)
	if restarts < 5 || st.Moved == 0 || st.NoiseEpisodes == 0 {
		t.Fatalf("the scenario does not exercise what it should: %d restarts, stats %+v", restarts, st)
	}
}
