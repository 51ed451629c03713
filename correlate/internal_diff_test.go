package correlate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/model"
)

func ids(list []*incident, keep func(*incident) bool) []string {
	var out []string
	for _, inc := range list {
		if keep(inc) {
			out = append(out, inc.ID)
		}
	}
	return out
}

func sortedIDs(list []*incident, keep func(*incident) bool) []string {
	out := ids(list, keep)
	sort.Strings(out)
	return out
}

// internalView renders the engine's working state, indexes included.
func internalView(e *Engine) map[string]string {
	live := func(inc *incident) bool { return e.incs[inc.ID] == inc }
	out := map[string]string{}
	put := func(k string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		out[k] = string(b)
	}
	for _, inc := range e.order {
		if !live(inc) {
			continue
		}
		var fps []string
		for fp := range inc.members {
			fps = append(fps, fp.String())
		}
		sort.Strings(fps)
		var toks []string
		for t := range inc.tokens {
			toks = append(toks, t)
		}
		sort.Strings(toks)
		gl := map[string]time.Time{}
		for k, v := range inc.groupLast {
			gl[fmt.Sprintf("%x", k)] = v
		}
		mi := inc.Incident
		mi.AlertCount = 0 // set on export only
		if len(mi.Members) == 0 {
			mi.Members = nil // export makes both nil
		}
		put("inc/"+inc.ID, map[string]any{"inc": mi, "seq": inc.seq, "members": fps, "firing": inc.firing, "lastActivity": inc.lastActivity,
			"manual": inc.manual, "tokens": toks, "root": inc.rootAlert, "evidence": inc.evidence, "groupLast": gl, "lastStart": inc.lastStart,
			"agg": inc.agg, "dirty": inc.dirty, "causes": inc.causes, "learned": inc.learned})
	}
	for fp, r := range e.alerts {
		id := ""
		if r.inc != nil {
			id = r.inc.ID
		}
		put("alert/"+fp.String(), map[string]any{"alert": r.alert, "status": r.statusName(), "first": r.firstSeen, "last": r.lastSeen, "ep": r.episodeStart,
			"res": r.resolvedAt, "count": r.count, "fires": r.fires, "flap": r.flapping, "inc": id, "tokens": e.tokens(r), "noise": r.noise, "probe": r.probe})
	}
	for k, l := range e.byService {
		put("svc/"+k, sortedIDs(l, live))
	}
	for k, l := range e.byInfra {
		put("infra/"+k, sortedIDs(l, live))
	}
	for k, inc := range e.byGroup {
		if live(inc) {
			put(fmt.Sprintf("group/%x", k), inc.ID)
		}
	}
	put("open", sortedIDs(e.open, live))
	for sig, l := range e.bySig {
		if v := ids(l, func(inc *incident) bool { return live(inc) && inc.Signature == sig }); len(v) > 0 {
			put("sig/"+sig, v)
		}
	}
	put("sigPrb", e.sigPrb)
	var rc []string
	for _, r := range e.rechecks {
		rc = append(rc, fmt.Sprint(r.fp, r.from.ID, r.resolved, r.due))
	}
	put("rechecks", rc)
	put("names", e.names)
	put("clock", []any{e.now, e.lastGC, e.nextInc, e.nextPrb, e.stats})
	return out
}

func TestInternalStateSurvivesRestore(t *testing.T) {
	for _, sc := range []storm.Config{
		{Seed: 21, Duration: 4 * time.Hour},
		{Seed: 22, Duration: 5 * time.Hour, IncidentsPerHour: 3, HostFailuresPerHour: 2, FlapsPerHour: 4, NoisePerHour: 10, LateFraction: 0.3, Topology: "both", OverlapFraction: 0.7},
	} {
		cfg := sc.WithDefaults()
		ssc, err := storm.NewSiftConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var replay bytes.Buffer
		if _, err := storm.Generate(cfg, &replay, io.Discard); err != nil {
			t.Fatal(err)
		}
		topo := Topology{Label: "service", DependsOn: map[string][]string{}}
		for k, v := range ssc.Topology.DependsOn {
			topo.DependsOn[k] = v
		}
		e := New(Config{GroupBy: []string{"alertname", "service"}, InfraLabels: []string{"host"}, Retention: Duration(time.Hour)}, topo)
		s := bufio.NewScanner(&replay)
		s.Buffer(make([]byte, 1<<20), 1<<20)
		n := 0
		for s.Scan() {
			var l storm.ReplayLine
			if err := json.Unmarshal(s.Bytes(), &l); err != nil {
				t.Fatal(err)
			}
			delete(l.Alert.Labels, "replica")
			e.ApplyBatch(&model.Batch{At: l.At, Alerts: []model.Alert{l.Alert}})
			n++
			if n%193 != 0 {
				continue
			}
			r := restoredCopy(t, e)
			a, b := internalView(e), internalView(r)
			var keys []string
			for k := range a {
				keys = append(keys, k)
			}
			for k := range b {
				if _, ok := a[k]; !ok {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			bad := 0
			for _, k := range keys {
				if a[k] != b[k] {
					i := 0
					for i < len(a[k]) && i < len(b[k]) && a[k][i] == b[k][i] {
						i++
					}
					lo := max(0, i-150)
					t.Errorf("seed %d line %d: %s differs at %d:\n live     %s\n restored %s", sc.Seed, n, k, i, a[k][lo:min(len(a[k]), i+150)], b[k][lo:min(len(b[k]), i+150)])
					bad++
				}
			}
			if bad > 0 {
				t.FailNow()
			}
		}
	}
}
