package knowledge

import (
	"errors"
	"strings"

	"github.com/sift-aiops/sift/model"
)

// Caps on what one incident contributes to its query.
const (
	maxQueryNames = 8
	maxQueryText  = 12
)

// Match finds the articles that best fit an incident. The query is built
// from the names of its alerts (split on camel case, and matched exactly
// against article alert names), their summaries and descriptions, the
// incident title, its services and its root cause. Alert names weigh twice
// as much as the free text, since runbooks are named after alerts.
func (b *Base) Match(inc *model.Incident, alerts []model.AlertState, limit int) ([]Result, error) {
	var names, text, services []string
	seen := map[string]bool{}
	// A storm incident can hold hundreds of alerts: the query keeps the
	// alerts of the root-cause service first and is capped, so that its
	// cost (and the tail latency) stays bounded.
	add := func(list *[]string, s string) {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			return
		}
		limit := maxQueryText
		if list == &names {
			limit = maxQueryNames
		}
		if len(*list) >= limit {
			return
		}
		seen[s] = true
		*list = append(*list, s)
	}
	if inc != nil && inc.RootCause.Service != "" {
		ordered := make([]model.AlertState, 0, len(alerts))
		for _, a := range alerts {
			if a.Labels["service"] == inc.RootCause.Service {
				ordered = append(ordered, a)
			}
		}
		for _, a := range alerts {
			if a.Labels["service"] != inc.RootCause.Service {
				ordered = append(ordered, a)
			}
		}
		alerts = ordered
	}
	for i := range alerts {
		a := &alerts[i]
		add(&names, a.Name())
		add(&text, a.Annotations["summary"])
		add(&text, a.Annotations["description"])
		add(&text, a.Annotations["message"])
		if sv := a.Labels["service"]; sv != "" {
			services = append(services, sv)
			add(&text, sv)
		}
	}
	if inc != nil {
		for _, m := range inc.Members {
			add(&names, m.Name)
			if m.Service != "" {
				services = append(services, m.Service)
				add(&text, m.Service)
			}
		}
		add(&text, inc.Title)
		for _, s := range inc.Services {
			services = append(services, s)
			add(&text, s)
		}
		add(&text, inc.RootCause.Service)
		for i, e := range inc.RootCause.Evidence {
			if i == 3 {
				break
			}
			add(&text, e)
		}
	}
	if len(names) == 0 && len(text) == 0 {
		return nil, errors.New("knowledge: incident has no alert names or text to match")
	}
	parts := []queryPart{
		{text: strings.Join(names, " "), weight: 2},
		{text: strings.Join(text, "\n"), weight: 1},
	}
	exact := append([]string(nil), names...)
	uniq := map[string]bool{}
	for _, sv := range services {
		if !uniq[sv] && len(uniq) < maxQueryNames {
			uniq[sv] = true
			exact = append(exact, sv)
		}
	}
	return b.search(parts, exact, limit)
}
