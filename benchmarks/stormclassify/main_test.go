package main

import (
	"math"
	"testing"
)

func TestScore(t *testing.T) {
	truth := []string{"a", "a", "b", "c"}
	pred := []string{"a", "b", "b", "b"}
	s := score(truth, pred)
	if s.acc != 0.5 {
		t.Errorf("accuracy %v, want 0.5", s.acc)
	}
	// F1: a = 2*1*0.5/1.5 = 2/3, b = 2*(1/3)*1/(4/3) = 0.5, c = 0
	if want := (2.0/3 + 0.5 + 0) / 3; math.Abs(s.macroF1-want) > 1e-9 {
		t.Errorf("macro-F1 %v, want %v", s.macroF1, want)
	}
}
