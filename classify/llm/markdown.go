package llm

import (
	"fmt"
	"strings"
	"time"

	"github.com/sift-aiops/sift/knowledge"
)

// md renders untrusted text as one line of inert Markdown (see
// knowledge.EscapeMarkdown).
func md(s string) string { return knowledge.EscapeMarkdown(capStr(s, 4*MaxNotesLen)) }

// renderDraft writes the Markdown article. Everything that comes from the
// model, the alerts or the agents goes through md.
func renderDraft(a *article, in Input, modelName string, at time.Time) string {
	inc := in.Incident
	var b strings.Builder
	fmt.Fprintf(&b, "> Draft written by an LLM (model %s) from incident %s; review before publishing.\n", md(modelName), md(orDash(inc.ID)))
	b.WriteString("> Its text comes from a language model and from alert text: check every fact, name and command before use.\n\n")
	fmt.Fprintf(&b, "# %s\n\n", md(a.Title))
	b.WriteString("## Summary\n\n")
	fmt.Fprintf(&b, "%s\n", md(a.Summary))
	section := func(title string, items []string, ordered bool, empty string) {
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		if len(items) == 0 {
			fmt.Fprintf(&b, "_%s_\n", empty)
			return
		}
		for i, it := range items {
			if ordered {
				fmt.Fprintf(&b, "%d. %s\n", i+1, md(it))
			} else {
				fmt.Fprintf(&b, "- %s\n", md(it))
			}
		}
	}
	section("Symptoms", a.Symptoms, false, "None listed.")
	b.WriteString("\n## Probable cause\n\n")
	if a.Cause != "" {
		fmt.Fprintf(&b, "%s\n", md(a.Cause))
	} else {
		b.WriteString("_Not determined._\n")
	}
	section("Resolution", a.Resolution, true, "No steps were given. Describe what resolved the incident.")
	section("Prevention", a.Prevention, false, "None listed.")

	b.WriteString("\n## Source\n\n")
	fmt.Fprintf(&b, "- Incident: %s: %s\n", md(orDash(inc.ID)), md(orDash(inc.Title)))
	if inc.RootCause.Service != "" {
		fmt.Fprintf(&b, "- Root cause service: %s\n", md(inc.RootCause.Service))
	}
	if len(inc.Services) > 0 {
		var sv []string
		for i, s := range inc.Services {
			if i >= MaxMembers {
				break
			}
			sv = append(sv, md(s))
		}
		fmt.Fprintf(&b, "- Services: %s\n", strings.Join(sv, ", "))
	}
	kept, _ := selectAlerts(inc, in.Alerts, MaxAlerts)
	var names []string
	seen := map[string]bool{}
	for _, al := range kept {
		if n := al.Name(); n != "" && !seen[n] {
			seen[n] = true
			names = append(names, md(n))
		}
	}
	if len(names) > 0 {
		fmt.Fprintf(&b, "- Alerts: %s\n", strings.Join(names, ", "))
	}
	for i, n := range in.Neighbors {
		if i >= MaxNeighbors {
			break
		}
		if i == 0 {
			b.WriteString("- Similar past incidents:\n")
		}
		fmt.Fprintf(&b, "  - %s: %s\n", md(n.ID), md(orDash(n.Title)))
	}
	fmt.Fprintf(&b, "- Generated: %s by %s\n", at.UTC().Format(time.RFC3339), md(modelName))
	return b.String()
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
