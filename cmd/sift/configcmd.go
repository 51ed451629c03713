package main

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/sift-aiops/sift/config"
)

func configMain(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: sift config check FILE")
		return 2
	}
	c, err := config.Load(args[1])
	if err != nil {
		fmt.Fprintf(stderr, "sift: invalid configuration: %v\n", err)
		return 1
	}
	svcs := map[string]bool{}
	edges := 0
	for s, deps := range c.Topology.DependsOn {
		svcs[s] = true
		for _, d := range deps {
			svcs[d] = true
			edges++
		}
	}
	names := make([]string, 0, len(svcs))
	for s := range svcs {
		names = append(names, s)
	}
	sort.Strings(names)
	fmt.Fprintf(stdout, "%s: OK\n", args[1])
	fmt.Fprintf(stdout, "  listen %s, data dir %s\n", c.Listen, c.DataDir)
	fmt.Fprintf(stdout, "  correlate: window %s, group_by %v, infra labels %v\n", time.Duration(c.Correlate.Window), c.Correlate.GroupBy, c.Correlate.InfraLabels)
	fmt.Fprintf(stdout, "  topology: label %q, %d services, %d dependencies\n", c.Topology.Label, len(names), edges)
	return 0
}
