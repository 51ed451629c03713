package correlate

import (
	"slices"
	"strings"
	"time"

	"github.com/sift-aiops/sift/model"
)

// Placement: where services run, learned from the alerts themselves.
//
// Many alerts about a service do not say which host or node it runs on
// (TargetDown{service="rate"}, or kube-state-metrics' KubePodNotReady,
// which names the pod but not its node), while others do (an application
// alert scraped from the pod carries node and instance). The engine
// remembers, for each service and each workload (pod, deployment...), the
// infrastructure (correlate.infra_labels) its alerts named, and when an
// alert names none, takes the one learned: the node that is failing right
// now among those the service runs on, or the only one it runs on. The
// alert then counts as running there, for matching, for the root cause and
// for a host alert that comes later. Learned state: it is in the snapshot,
// and a replay learns the same places in the same order.

// maxPlaces bounds the places remembered per service or workload (the
// most recent ones).
const maxPlaces = 8

// maxPlaceSubjects bounds the services and workloads remembered: beyond
// it, new ones are not learned until pruning (prunePlaces) forgets those
// not seen within correlate.placement_ttl. Pods with a new name on every
// restart would otherwise grow it without end.
const maxPlaceSubjects = 100_000

// placed is a place a subject (a service or a workload) ran on, and when
// an alert last said so.
type placed struct {
	Key  string    `json:"key"` // label=value of an infra label
	Seen time.Time `json:"seen"`
}

// placeSubjects returns what rec's placement is learned and looked up
// for: its workload labels' values first (a pod is on one node), then its
// service.
func (e *Engine) placeSubjects(rec *alertRec, buf []string) []string {
	for _, l := range e.cfg.WorkloadLabels {
		if v := rec.alert.Labels.Get(l); v != "" {
			buf = append(buf, l+"="+v)
		}
	}
	return append(buf, "service="+rec.service)
}

// learnPlacement records the infrastructure an alert on a service names.
func (e *Engine) learnPlacement(rec *alertRec, at time.Time) {
	if rec.hostLevel || rec.service == "" || e.cfg.PlacementTTL <= 0 {
		return
	}
	var subjects []string
	for _, l := range e.cfg.InfraLabels {
		v := infraLabel(rec.alert.Labels, l)
		if v == "" {
			continue
		}
		if subjects == nil {
			subjects = e.placeSubjects(rec, make([]string, 0, 4))
		}
		key := l + "=" + v
		for _, s := range subjects {
			list, known := e.places[s]
			if !known && len(e.places) >= maxPlaceSubjects {
				continue
			}
			if i := slices.IndexFunc(list, func(p placed) bool { return p.Key == key }); i >= 0 {
				list = slices.Delete(list, i, i+1)
			} else if len(list) >= maxPlaces {
				list = list[:maxPlaces-1]
			}
			e.places[s] = slices.Insert(list, 0, placed{Key: key, Seen: at})
		}
	}
}

// placeAlert chooses where an alert that names no infrastructure runs, at the
// start t of its episode: among the places its workload (else its
// service) was seen on within correlate.placement_ttl, the one whose own
// alert started closest to t within the window, else the only one.
func (e *Engine) placeAlert(rec *alertRec, t time.Time) {
	if rec.hostLevel || rec.service == "" || rec.placed != 0 || e.cfg.PlacementTTL <= 0 {
		return
	}
	for _, l := range e.cfg.InfraLabels {
		if infraLabel(rec.alert.Labels, l) != "" {
			return // it says where it runs
		}
	}
	ttl := time.Duration(e.cfg.PlacementTTL)
	for _, s := range e.placeSubjects(rec, make([]string, 0, 4)) {
		var recent []string
		for _, p := range e.places[s] {
			if absDur(t.Sub(p.Seen)) <= ttl {
				recent = append(recent, p.Key)
			}
		}
		if len(recent) == 0 {
			continue
		}
		best, bestGap := "", time.Duration(0)
		for _, key := range recent {
			for _, inc := range e.byInfra[key] {
				if inc.Status == model.IncidentResolved {
					continue
				}
				if gap, ok := e.closest(t, inc.evidence[evKey{evInfra, key}]); ok && (best == "" || gap < bestGap) {
					best, bestGap = key, gap
				}
			}
		}
		if best == "" && len(recent) == 1 {
			best = recent[0]
		}
		if best != "" {
			rec.placed = e.placeKey(best)
		}
		return // the most precise subject decides
	}
}

// placeKey interns a place for alertRec.placed (0 is none).
func (e *Engine) placeKey(key string) uint32 {
	if i, ok := e.placeIdx[key]; ok {
		return i
	}
	if len(e.placeKeys) == 0 {
		e.placeKeys = append(e.placeKeys, "")
	}
	i := uint32(len(e.placeKeys))
	e.placeKeys = append(e.placeKeys, key)
	e.placeIdx[key] = i
	return i
}

// infraValue returns the value of infra label l for rec: its own label,
// else the place learned for it (see placeAlert), and whether it was learned.
func (e *Engine) infraValue(rec *alertRec, l string) (string, bool) {
	if v := infraLabel(rec.alert.Labels, l); v != "" {
		return v, false
	}
	if rec.placed == 0 {
		return "", false
	}
	if v, ok := strings.CutPrefix(e.placeKeys[rec.placed], l+"="); ok {
		return v, true
	}
	return "", false
}

// placedKey returns the place learned for rec ("" if none).
func (e *Engine) placedKey(rec *alertRec) string {
	if rec.placed == 0 {
		return ""
	}
	return e.placeKeys[rec.placed]
}

// placeSeen says when rec's service or workload was last seen on key.
func (e *Engine) placeSeen(rec *alertRec, key string) time.Time {
	var last time.Time
	for _, s := range e.placeSubjects(rec, make([]string, 0, 4)) {
		for _, p := range e.places[s] {
			if p.Key == key && p.Seen.After(last) {
				last = p.Seen
			}
		}
	}
	return last
}

// prunePlaces forgets the subjects not seen anywhere within
// correlate.placement_ttl (pods come and go).
func (e *Engine) prunePlaces() {
	ttl := time.Duration(e.cfg.PlacementTTL)
	for k, list := range e.places {
		if len(list) == 0 || e.now.Sub(list[0].Seen) > ttl {
			delete(e.places, k)
		}
	}
}

// infraLabel returns the value of infra label l, unless it is a URL: a
// blackbox probe's instance="https://shop.example.com/" names an endpoint
// as users see it, not a host it runs on.
func infraLabel(ls labelSet, l string) string {
	v := ls.Get(l)
	if strings.Contains(v, "://") {
		return ""
	}
	return v
}
