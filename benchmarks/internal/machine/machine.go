// Package machine reports on the machine a benchmark runs on, for the
// results it prints.
package machine

import (
	"errors"
	"os"
	"strings"
)

// LoadAvg returns the 1, 5 and 15 minute load averages from
// /proc/loadavg, space-separated.
func LoadAvg() (string, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "", err
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "", errors.New("machine: /proc/loadavg has fewer than 3 fields")
	}
	return strings.Join(f[:3], " "), nil
}

// LoadAvgOr is LoadAvg, or fallback when it cannot be read.
func LoadAvgOr(fallback string) string {
	la, err := LoadAvg()
	if err != nil {
		return fallback
	}
	return la
}
