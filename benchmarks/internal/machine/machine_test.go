package machine

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestLoadAvg(t *testing.T) {
	if got := LoadAvgOr("?"); got == "" {
		t.Fatal("LoadAvgOr returned nothing")
	}
	if _, err := os.Stat("/proc/loadavg"); err != nil {
		t.Skip("no /proc/loadavg on this system")
	}
	la, err := LoadAvg()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(la)
	if len(f) != 3 {
		t.Fatalf("LoadAvg() = %q, want three numbers", la)
	}
	for _, x := range f {
		if _, err := strconv.ParseFloat(x, 64); err != nil {
			t.Fatalf("LoadAvg() = %q: %v", la, err)
		}
	}
}
