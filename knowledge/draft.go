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
	fmt.Fprintf(&b, "# %s\n\n", EscapeMarkdown(title))
	b.WriteString("> Draft written by Sift from incident")
	if inc.ID != "" {
		fmt.Fprintf(&b, " %s", EscapeMarkdown(inc.ID))
	}
	b.WriteString(". Review every section before publishing.\n\n")

	b.WriteString("## Summary\n\n")
	fmt.Fprintf(&b, "- Status: %s\n", EscapeMarkdown(orDash(inc.Status)))
	if inc.Severity != "" {
		fmt.Fprintf(&b, "- Severity: %s\n", EscapeMarkdown(inc.Severity))
	}
	fmt.Fprintf(&b, "- Opened: %s\n", fmtTime(inc.OpenedAt))
	if !inc.ResolvedAt.IsZero() {
		fmt.Fprintf(&b, "- Resolved: %s (after %s)\n", fmtTime(inc.ResolvedAt), inc.ResolvedAt.Sub(inc.OpenedAt).Round(time.Second))
	}
	if len(services) > 0 {
		fmt.Fprintf(&b, "- Services: %s\n", escapeAll(services))
	}
	if inc.Class != nil {
		if inc.Class.Team != "" {
			fmt.Fprintf(&b, "- Team: %s\n", EscapeMarkdown(inc.Class.Team))
		}
		if inc.Class.Category != "" {
			fmt.Fprintf(&b, "- Category: %s\n", EscapeMarkdown(inc.Class.Category))
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
		fmt.Fprintf(&b, "- **%s**", EscapeMarkdown(orDash(a.Name())))
		if sv := a.Labels["service"]; sv != "" {
			fmt.Fprintf(&b, " on %s", codeSpan(sv))
		}
		if sev := a.Labels["severity"]; sev != "" {
			fmt.Fprintf(&b, " (%s)", EscapeMarkdown(sev))
		}
		fmt.Fprintf(&b, ": %s from %s", EscapeMarkdown(orDash(a.Status)), fmtTime(a.FirstSeen))
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
			fmt.Fprintf(&b, "  - Summary: %s\n", EscapeMarkdown(s))
		}
		if d := a.Annotations["description"]; d != "" {
			fmt.Fprintf(&b, "  - Description: %s\n", EscapeMarkdown(d))
		}
		if len(a.Labels) > 0 {
			fmt.Fprintf(&b, "  - Labels: %s\n", codeSpan(a.Labels.String()))
		}
	}
	for _, m := range inc.Members {
		if listed[m.Fingerprint] {
			continue
		}
		fmt.Fprintf(&b, "- **%s**", EscapeMarkdown(orDash(m.Name)))
		if m.Service != "" {
			fmt.Fprintf(&b, " on %s", codeSpan(m.Service))
		}
		fmt.Fprintf(&b, ": joined %s (%s)\n", fmtTime(m.JoinedAt), EscapeMarkdown(orDash(m.Reason.Kind)))
	}

	b.WriteString("\n## Probable cause\n\n")
	if inc.RootCause.Service == "" && len(inc.RootCause.Evidence) == 0 {
		b.WriteString("_Not determined. Describe what caused the incident._\n")
	} else {
		if inc.RootCause.Service != "" {
			fmt.Fprintf(&b, "Probable root cause: service %s.\n", codeSpan(inc.RootCause.Service))
		}
		if len(inc.RootCause.Evidence) > 0 {
			b.WriteString("\nEvidence:\n\n")
			for _, e := range inc.RootCause.Evidence {
				fmt.Fprintf(&b, "- %s\n", EscapeMarkdown(e))
			}
		}
	}

	b.WriteString("\n## Resolution\n\n")
	if notes := strings.TrimSpace(inc.Notes); notes != "" {
		// The agents' notes, line by line, as text.
		for _, l := range strings.Split(notes, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				b.WriteString(EscapeMarkdown(l))
				b.WriteString("\n\n")
			}
		}
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
		fmt.Fprintf(&b, "- %s: %s (%s, opened %s)", EscapeMarkdown(orDash(l.ID)), EscapeMarkdown(orDash(l.Title)), EscapeMarkdown(orDash(l.Status)), fmtTime(l.OpenedAt))
		if notes := strings.TrimSpace(l.Notes); notes != "" {
			fmt.Fprintf(&b, ". Notes: %s", EscapeMarkdown(notes))
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

func escapeAll(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = EscapeMarkdown(s)
	}
	return strings.Join(out, ", ")
}

// codeSpan quotes s as inline code that s cannot close: the fence is one
// backtick longer than the longest run of backticks in s (CommonMark), on
// one line.
func codeSpan(s string) string {
	s = oneLine(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
