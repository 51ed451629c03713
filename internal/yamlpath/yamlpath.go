// Package yamlpath finds where in a YAML document a configuration error
// is, so that messages can name the line.
package yamlpath

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Line returns the line of the key path that msg starts with
// ("correlate.window: ..." or "topology.depends_on.frontend[1]: ..."): the
// deepest key of the path found in the document, or 0.
func Line(root *yaml.Node, msg string) int {
	path, _, ok := strings.Cut(msg, ": ")
	if !ok || root == nil || len(root.Content) == 0 {
		return 0
	}
	n := root.Content[0]
	line := 0
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		var next *yaml.Node
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == name {
					line, next = n.Content[i].Line, n.Content[i+1]
					break
				}
			}
		}
		if next == nil {
			return line
		}
		n = next
		if idx >= 0 && n.Kind == yaml.SequenceNode && idx < len(n.Content) {
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}
