// Command stormfamily generates storm scenarios of other families than
// benchmarks/storm (kube-prometheus, legacy VMs) and scores Sift's replay
// of them; see benchmarks/stormfamily.
package main

import (
	"os"

	"github.com/sift-aiops/sift/benchmarks/stormfamily"
)

func main() { os.Exit(stormfamily.Main(os.Args[1:], os.Stdout, os.Stderr)) }
