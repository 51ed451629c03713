package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

var keep [][]byte

// The limit follows the live heap: it is set after collections, grows
// when more is held, and stays within live × (1 + headroom) + base plus
// the runtime's own memory.
func TestLimitFollowsLiveHeap(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	c := Start(Config{Headroom: 0.25, Base: 8 << 20}, nil)
	if c == nil {
		t.Fatal("no controller")
	}
	defer c.Stop()
	runtime.GC()
	waitUpdates(t, c, 2)
	small := c.Limit()
	for range 200 {
		keep = append(keep, make([]byte, 1<<20)) // 200 MiB held
	}
	runtime.GC()
	n := c.Updates()
	runtime.GC()
	waitUpdates(t, c, n+1)
	big := c.Limit()
	if big < small+200<<20 {
		t.Fatalf("limit %d MiB after holding 200 MiB more; was %d MiB", big>>20, small>>20)
	}
	if got := debug.SetMemoryLimit(-1); got != big {
		t.Fatalf("runtime limit %d, controller says %d", got, big)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if max := float64(ms.HeapAlloc)*1.25 + 8<<20 + float64(ms.StackSys+ms.MSpanSys+ms.MCacheSys+ms.GCSys+ms.OtherSys+ms.BuckHashSys) + 16<<20; float64(big) > max {
		t.Fatalf("limit %d MiB above live×1.25+base+runtime (%d MiB)", big>>20, int64(max)>>20)
	}
	keep = nil
	runtime.GC()
	n = c.Updates()
	runtime.GC()
	waitUpdates(t, c, n+1)
	if after := c.Limit(); after > big-150<<20 {
		t.Fatalf("limit %d MiB after letting 200 MiB go; was %d MiB", after>>20, big>>20)
	}
	c.Stop()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("limit after Stop: %d", got)
	}
}

// An operator's GOMEMLIMIT, or no headroom, leaves the runtime alone.
func TestOperatorWins(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "1GiB")
	if c := Start(Config{Headroom: 0.25}, nil); c != nil {
		c.Stop()
		t.Fatal("controller started despite GOMEMLIMIT")
	}
	t.Setenv("GOMEMLIMIT", "")
	if c := Start(Config{Headroom: 0}, nil); c != nil {
		c.Stop()
		t.Fatal("controller started with no headroom")
	}
}

func waitUpdates(t *testing.T, c *Controller, n int64) {
	t.Helper()
	for i := 0; c.Updates() < n; i++ {
		if i > 200 {
			t.Fatalf("%d updates, want %d", c.Updates(), n)
		}
		runtime.GC()
		runtime.Gosched()
	}
}
