package knowledge

import (
	"regexp"
	"strings"
)

// linkish matches what Markdown renderers (GitHub's autolink extension
// included) turn into links: URLs with a scheme, www. hosts and e-mail
// addresses.
var linkish = regexp.MustCompile(`(?i)(?:\b[a-z][a-z0-9+.\-]*:/{1,3}|\bwww\.)[^\s]*|[^\s@<>()\[\]]+@[^\s@<>()\[\]]+\.[a-z]{2,}`)

var orderedStart = regexp.MustCompile(`^([0-9]+)([.)])`)

// EscapeMarkdown renders untrusted text (alert labels and annotations,
// agents' notes, a model's answer) as one line of inert Markdown: no raw
// HTML (& < > become entities), no emphasis, links, images, code or
// headings (their punctuation is backslash-escaped) and no autolinks (URLs
// and e-mail addresses become code spans, which renderers never link).
func EscapeMarkdown(s string) string {
	s = oneLine(s)
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
