package model

import (
	"strings"
	"unicode"
)

// Words returns the lower-case words of s, breaking CamelCase identifiers
// ("KubePodCrashLooping" -> kube pod crash looping, "HTTPServerDown" ->
// http server down) and anything that is not a letter, in order, without
// duplicates and without one-letter words. Alert names are read this way
// by correlation (text similarity) and classification (the kNN index).
func Words(s string) []string {
	var out []string
	seen := map[string]bool{}
	var cur []rune
	flush := func() {
		if len(cur) > 1 {
			w := strings.ToLower(string(cur))
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
		cur = cur[:0]
	}
	rs := []rune(s)
	for i, r := range rs {
		if !unicode.IsLetter(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && len(cur) > 0 {
			prevLower := unicode.IsLower(cur[len(cur)-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (nextLower && unicode.IsUpper(cur[len(cur)-1])) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return out
}
