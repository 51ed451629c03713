package llm

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// linkish matches what Markdown renderers (GitHub's autolink extension
// included) turn into links: URLs with a scheme, www. hosts and e-mail
// addresses.
var linkish = regexp.MustCompile(`(?i)(?:\b[a-z][a-z0-9+.\-]*:/{1,3}|\bwww\.)[^\s]*|[^\s@<>()\[\]]+@[^\s@<>()\[\]]+\.[a-z]{2,}`)

var orderedStart = regexp.MustCompile(`^([0-9]+)([.)])`)

// md renders untrusted text as one line of inert Markdown: no raw HTML
// (& < > become entities), no emphasis, links, images, code or headings
// (their punctuation is backslash-escaped) and no autolinks (URLs and
// e-mail addresses become code spans, which renderers never link).
func md(s string) string {
	s = capStr(s, 4*MaxNotesLen) // one line, no control characters
	var b strings.Builder
	last := 0
	for _, loc := range linkish.FindAllStringIndex(s, -1) {
		if loc[0] < last {
			continue
		}
		// Trailing punctuation is not part of the address (as GitHub does).
		for loc[1] > loc[0]+1 && strings.ContainsRune(".,;:!?)'\"", rune(s[loc[1]-1])) {
			loc[1]--
		}
		b.WriteString(mdText(s[last:loc[0]]))
		tok := strings.ReplaceAll(s[loc[0]:loc[1]], "`", "'")
		b.WriteString("`" + tok + "`")
		last = loc[1]
	}
	b.WriteString(mdText(s[last:]))
	out := b.String()
	// Block syntax at the start of the line: list items, thematic breaks,
	// setext underlines, ordered lists.
	if out != "" && strings.ContainsRune("-+=", rune(out[0])) {
		out = `\` + out
	}
	return orderedStart.ReplaceAllString(out, `$1\$2`)
}

func mdText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\\', '`', '*', '_', '[', ']', '(', ')', '!', '|', '~', '#', '{', '}':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

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
