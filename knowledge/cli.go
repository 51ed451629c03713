package knowledge

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
)

const searchUsage = `usage: sift kb search --dir DIR [--limit N] [--json] TEXT...

Searches the Markdown articles under DIR (indexed in memory) and prints
rank, score, id and title of the best matches.
`

// SearchMain implements `sift kb search`: args are the arguments after
// "search". Flags may come before or after the text. It returns the exit
// code: 0 on success (even with no match), 2 on bad usage, 1 on failure.
func SearchMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sift kb search", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "", "directory of Markdown articles (required)")
	limit := fs.Int("limit", 10, "number of results (1-100)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	var text []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				fmt.Fprint(stdout, searchUsage)
				return 0
			}
			fmt.Fprintf(stderr, "sift kb search: %v\n%s", err, searchUsage)
			return 2
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			text = append(text, rest[1:]...)
			break
		}
		text = append(text, rest[0])
		rest = rest[1:]
	}
	q := strings.TrimSpace(strings.Join(text, " "))
	switch {
	case *dir == "":
		fmt.Fprintf(stderr, "sift kb search: --dir is required\n%s", searchUsage)
		return 2
	case q == "":
		fmt.Fprintf(stderr, "sift kb search: no search text given\n%s", searchUsage)
		return 2
	case *limit < 1 || *limit > MaxLimit:
		fmt.Fprintf(stderr, "sift kb search: --limit %d: want 1 to %d\n", *limit, MaxLimit)
		return 2
	}
	b, err := Open(Config{Dir: *dir})
	if err != nil {
		fmt.Fprintf(stderr, "sift kb search: %v\n", err)
		return 1
	}
	defer b.Close()
	res, err := b.Search(q, *limit)
	if err != nil {
		fmt.Fprintf(stderr, "sift kb search: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(searchResponse{Results: res}); err != nil {
			fmt.Fprintf(stderr, "sift kb search: %v\n", err)
			return 1
		}
		return 0
	}
	if len(res) == 0 {
		fmt.Fprintf(stdout, "no article matches %q (%d articles indexed)\n", q, b.Len())
		return 0
	}
	fmt.Fprintf(stdout, "%-4s  %-7s  %-40s  %s\n", "RANK", "SCORE", "ID", "TITLE")
	for i, r := range res {
		fmt.Fprintf(stdout, "%-4d  %7.3f  %-40s  %s\n", i+1, r.Score, r.ID, r.Title)
	}
	return 0
}
