package knowledge

import (
	"errors"
	"strings"

	"github.com/sift-aiops/sift/model"
)

// Match finds the articles that best fit an incident. The query is built
// from the names of its alerts (split on camel case, and matched exactly
// against article alert names), their summaries and descriptions, the
// incident title, its services and its root cause. Alert names weigh twice
// as much as the free text, since runbooks are named after alerts.
func (b *Base) Match(inc *model.Incident, alerts []model.AlertState, limit int) ([]Result, error) {
	var names, text, services []string
	seen := map[string]bool{}
	add := func(list *[]string, s string) {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			return
		}
		seen[s] = true
		*list = append(*list, s)
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
		for _, e := range inc.RootCause.Evidence {
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
	return b.search(parts, append(names, services...), limit)
}
