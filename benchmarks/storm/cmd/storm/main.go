// Command storm generates alert-storm scenarios and scores correlation
// quality against their ground truth. See package storm.
//
//	storm gen -out /tmp/s -preset week
//	storm score -dir /tmp/s -output sift-incidents.ndjson -json score.json
package main

import (
	"os"

	"github.com/sift-aiops/sift/benchmarks/storm"
)

func main() {
	os.Exit(storm.Main(os.Args[1:], os.Stdout, os.Stderr))
}
