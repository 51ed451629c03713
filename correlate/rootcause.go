package correlate

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sift-aiops/sift/model"
)

// rootCause names the probable root cause of inc and the alert name that
// represents it.
//
// If an alert on shared infrastructure (an alert without the topology
// label, e.g. HostDown with host="node-3") is a member and at least half of
// the member services run on it, the infrastructure is the root cause,
// named "label:value". Otherwise the root cause is the most upstream
// alerting service: one none of whose (transitive) dependencies is also
// alerting in the incident; among several, the one that started first.
func (e *Engine) rootCause(inc *incident) (model.RootCause, string) {
	type svcInfo struct {
		name  string
		start time.Time
		alert string
	}
	agg := &inc.agg
	svcs := make(map[string]*svcInfo, len(agg.Svc))
	for n, s := range agg.Svc {
		svcs[n] = &svcInfo{name: n, start: s.Start, alert: s.Alert}
	}
	if agg.Earliest.Start.IsZero() {
		return model.RootCause{}, ""
	}

	// Infrastructure.
	for _, fp := range agg.Hosts {
		h := e.alerts[fp]
		if h == nil {
			continue
		}
		for _, l := range e.cfg.InfraLabels {
			v := infraLabel(h.alert.Labels, l)
			if v == "" {
				continue
			}
			var on []string
			for s := range agg.HostSvcs[l+"="+v] {
				on = append(on, s)
			}
			on = uniqSorted(on)
			if len(svcs) == 0 || 2*len(on) >= len(svcs) {
				ev := []string{fmt.Sprintf("%s alerting on %s=%s itself since %s", h.alert.Name(), l, v, h.episodeStart.Time().UTC().Format(time.RFC3339))}
				if len(on) > 0 {
					ev = append(ev, fmt.Sprintf("%d of %d alerting services run on %s: %s", len(on), len(svcs), v, strings.Join(on, ", ")))
				}
				rc := model.RootCause{Service: l + ":" + v, Evidence: ev}
				e.addChanges(inc, &rc)
				return rc, h.alert.Name()
			}
		}
	}
	if len(svcs) == 0 {
		return model.RootCause{Evidence: []string{"no alert names a service"}}, agg.Earliest.Alert
	}

	names := make([]string, 0, len(svcs))
	for n := range svcs {
		names = append(names, n)
	}
	sort.Strings(names)
	var roots []*svcInfo
	for _, n := range names {
		upstream := false
		for _, o := range names {
			if o == n {
				continue
			}
			if _, ok := e.full.dependsOn(n, o); ok {
				upstream = true
				break
			}
		}
		if !upstream {
			roots = append(roots, svcs[n])
		}
	}
	if len(roots) == 0 { // a dependency cycle: fall back to all services
		for _, n := range names {
			roots = append(roots, svcs[n])
		}
	}
	// Among the candidates, the one whose failure explains the most other
	// alerting services (they depend on it) wins; then the earliest.
	explains := make(map[string]int, len(roots))
	for _, r := range roots {
		for _, n := range names {
			if _, ok := e.full.dependsOn(n, r.name); ok && n != r.name {
				explains[r.name]++
			}
		}
	}
	// Then one that changed (a deploy...) shortly before the incident.
	changed := map[string]bool{}
	if len(roots) > 1 && len(e.changes.order) > 0 {
		for _, r := range roots {
			changed[r.name] = e.changed(r.name, agg.Earliest.Start)
		}
	}
	sort.SliceStable(roots, func(i, j int) bool {
		if explains[roots[i].name] != explains[roots[j].name] {
			return explains[roots[i].name] > explains[roots[j].name]
		}
		if changed[roots[i].name] != changed[roots[j].name] {
			return changed[roots[i].name]
		}
		return roots[i].start.Before(roots[j].start)
	})
	root := roots[0]
	ev := []string{fmt.Sprintf("%s alerting (%s) since %s", root.name, root.alert, root.start.UTC().Format(time.RFC3339))}
	var callers []string
	for _, n := range names {
		if n == root.name {
			continue
		}
		if h, ok := e.full.dependsOn(n, root.name); ok {
			callers = append(callers, fmt.Sprintf("%s depends on %s (%d hop%s) and alerted %s", n, root.name, h, plural(h), relTime(svcs[n].start.Sub(root.start))))
		}
	}
	if len(names) > 1 {
		if len(callers) > 0 {
			ev = append(ev, "none of its dependencies is alerting")
		}
		ev = append(ev, callers...)
	}
	if len(roots) > 1 {
		tie := "then started first"
		if changed[root.name] && !changed[roots[1].name] && explains[roots[1].name] == explains[root.name] {
			tie = "then changed shortly before"
		}
		ev = append(ev, fmt.Sprintf("%d services have no alerting dependency; %s explains the most alerting services (%d), %s", len(roots), root.name, explains[root.name], tie))
	}
	rc := model.RootCause{Service: root.name, Evidence: ev}
	e.addChanges(inc, &rc)
	return rc, root.alert
}

// addChanges adds the changes that may explain inc to its root cause.
func (e *Engine) addChanges(inc *incident, rc *model.RootCause) {
	if len(e.changes.order) == 0 {
		return
	}
	cs, ev := e.causalChanges(inc, rc.Service, inc.agg.Earliest.Start)
	rc.Changes = cs
	rc.Evidence = append(rc.Evidence, ev...)
}

// relTime says d as "4m0s after it" (or "before it" when negative).
func relTime(d time.Duration) string { return rel(d) + " it" }

// rel says d as "4m0s after" (or "before" when negative).
func rel(d time.Duration) string {
	if d < 0 {
		return (-d).Round(time.Second).String() + " before"
	}
	return d.Round(time.Second).String() + " after"
}

func uniqSorted(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
