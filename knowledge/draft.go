package knowledge

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sift-aiops/sift/model"
)

type draftFrontMatter struct {
	Title    string   `yaml:"title"`
	Status   string   `yaml:"status"`
	Incident string   `yaml:"incident,omitempty"`
	Alerts   []string `yaml:"alerts,omitempty"`
	Services []string `yaml:"services,omitempty"`
	Tags     []string `yaml:"tags,omitempty"`
}

// Draft writes a Markdown article about an incident for a person to review
// and save in the knowledge base: front matter (status: draft, the alert
// names and services so that Match finds it next time), symptoms from the
// alerts, the probable cause, the resolution from the incident notes and
// the linked incidents.
func Draft(inc *model.Incident, alerts []model.AlertState, linked []*model.Incident) string {
	if inc == nil {
		inc = &model.Incident{}
	}
	title := strings.TrimSpace(inc.Title)
	if title == "" {
		title = "Incident " + inc.ID
	}
	var names, services []string
	addUniq := func(list *[]string, s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		for _, v := range *list {
			if v == s {
				return
			}
		}
		*list = append(*list, s)
	}
	for i := range alerts {
		addUniq(&names, alerts[i].Name())
		addUniq(&services, alerts[i].Labels["service"])
	}
	for _, m := range inc.Members {
		addUniq(&names, m.Name)
		addUniq(&services, m.Service)
	}
	for _, s := range inc.Services {
		addUniq(&services, s)
	}
	addUniq(&services, inc.RootCause.Service)
	fm := draftFrontMatter{Title: title, Status: "draft", Incident: inc.ID, Alerts: names, Services: services}
	if inc.Class != nil && inc.Class.Category != "" {
		fm.Tags = []string{inc.Class.Category}
	}
	fmText, err := yaml.Marshal(fm)
	if err != nil { // cannot happen for plain strings; keep a valid header anyway
		fmText = []byte(fmt.Sprintf("title: %q\nstatus: draft\n", title))
	}

	var b strings.Builder
	b.WriteString("---\n")
	b.Write(fmText)
	b.WriteString("---\n\n")
	fmt.Fprintf(&b, "# %s\n\n", oneLine(title))
	b.WriteString("> Draft written by Sift from incident")
	if inc.ID != "" {
		fmt.Fprintf(&b, " %s", inc.ID)
	}
	b.WriteString(". Review every section before publishing.\n\n")

	b.WriteString("## Summary\n\n")
	fmt.Fprintf(&b, "- Status: %s\n", orDash(inc.Status))
	if inc.Severity != "" {
		fmt.Fprintf(&b, "- Severity: %s\n", inc.Severity)
	}
	fmt.Fprintf(&b, "- Opened: %s\n", fmtTime(inc.OpenedAt))
	if !inc.ResolvedAt.IsZero() {
		fmt.Fprintf(&b, "- Resolved: %s (after %s)\n", fmtTime(inc.ResolvedAt), inc.ResolvedAt.Sub(inc.OpenedAt).Round(time.Second))
	}
	if len(services) > 0 {
		fmt.Fprintf(&b, "- Services: %s\n", strings.Join(services, ", "))
	}
	if inc.Class != nil {
		if inc.Class.Team != "" {
			fmt.Fprintf(&b, "- Team: %s\n", inc.Class.Team)
		}
		if inc.Class.Category != "" {
			fmt.Fprintf(&b, "- Category: %s\n", inc.Class.Category)
		}
	}

	b.WriteString("\n## Symptoms\n\n")
	if len(alerts) == 0 && len(inc.Members) == 0 {
		b.WriteString("_No alerts recorded._\n")
	}
	sorted := append([]model.AlertState(nil), alerts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].FirstSeen.Before(sorted[j].FirstSeen) })
	listed := map[model.Fingerprint]bool{}
	for i := range sorted {
		a := &sorted[i]
		listed[a.Fingerprint] = true
		fmt.Fprintf(&b, "- **%s**", orDash(a.Name()))
		if sv := a.Labels["service"]; sv != "" {
			fmt.Fprintf(&b, " on `%s`", sv)
		}
		if sev := a.Labels["severity"]; sev != "" {
			fmt.Fprintf(&b, " (%s)", sev)
		}
		fmt.Fprintf(&b, ": %s from %s", orDash(a.Status), fmtTime(a.FirstSeen))
		if !a.ResolvedAt.IsZero() {
			fmt.Fprintf(&b, " to %s", fmtTime(a.ResolvedAt))
		} else if !a.LastSeen.IsZero() {
			fmt.Fprintf(&b, ", last seen %s", fmtTime(a.LastSeen))
		}
		if a.Count > 1 {
			fmt.Fprintf(&b, ", %d notifications", a.Count)
		}
		if a.Flapping {
			b.WriteString(", flapping")
		}
		b.WriteString("\n")
		if s := a.Annotations["summary"]; s != "" {
			fmt.Fprintf(&b, "  - Summary: %s\n", oneLine(s))
		}
		if d := a.Annotations["description"]; d != "" {
			fmt.Fprintf(&b, "  - Description: %s\n", oneLine(d))
		}
		if len(a.Labels) > 0 {
			fmt.Fprintf(&b, "  - Labels: `%s`\n", a.Labels.String())
		}
	}
	for _, m := range inc.Members {
		if listed[m.Fingerprint] {
			continue
		}
		fmt.Fprintf(&b, "- **%s**", orDash(m.Name))
		if m.Service != "" {
			fmt.Fprintf(&b, " on `%s`", m.Service)
		}
		fmt.Fprintf(&b, ": joined %s (%s)\n", fmtTime(m.JoinedAt), orDash(m.Reason.Kind))
	}

	b.WriteString("\n## Probable cause\n\n")
	if inc.RootCause.Service == "" && len(inc.RootCause.Evidence) == 0 {
		b.WriteString("_Not determined. Describe what caused the incident._\n")
	} else {
		if inc.RootCause.Service != "" {
			fmt.Fprintf(&b, "Probable root cause: service `%s`.\n", inc.RootCause.Service)
		}
		if len(inc.RootCause.Evidence) > 0 {
			b.WriteString("\nEvidence:\n\n")
			for _, e := range inc.RootCause.Evidence {
				fmt.Fprintf(&b, "- %s\n", oneLine(e))
			}
		}
	}

	b.WriteString("\n## Resolution\n\n")
	if notes := strings.TrimSpace(inc.Notes); notes != "" {
		b.WriteString(notes)
		b.WriteString("\n")
	} else {
		b.WriteString("_No notes were recorded. Describe the steps that resolved the incident._\n")
	}

	b.WriteString("\n## Linked incidents\n\n")
	n := 0
	for _, l := range linked {
		if l == nil {
			continue
		}
		n++
		fmt.Fprintf(&b, "- %s: %s (%s, opened %s)", orDash(l.ID), oneLine(orDash(l.Title)), orDash(l.Status), fmtTime(l.OpenedAt))
		if notes := strings.TrimSpace(l.Notes); notes != "" {
			fmt.Fprintf(&b, ". Notes: %s", oneLine(notes))
		}
		b.WriteString("\n")
	}
	if n == 0 {
		b.WriteString("_None._\n")
	}
	return b.String()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
