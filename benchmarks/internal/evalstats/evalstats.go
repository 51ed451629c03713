// Package evalstats holds the classification metrics the evaluation
// programs under benchmarks/ report.
package evalstats

import "fmt"

// Pct formats a share (0..1) as a percentage with one decimal.
func Pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// Score returns the accuracy and the macro-averaged F1 (over the classes
// present in truth) of pred against truth, which have the same length.
func Score(truth, pred []string) (accuracy, macroF1 float64) {
	if len(truth) == 0 {
		return 0, 0
	}
	classes := map[string]bool{}
	for _, t := range truth {
		classes[t] = true
	}
	tp, fp, fn := map[string]int{}, map[string]int{}, map[string]int{}
	right := 0
	for i := range truth {
		if truth[i] == pred[i] {
			right++
			tp[truth[i]]++
		} else {
			fn[truth[i]]++
			fp[pred[i]]++
		}
	}
	sum := 0.0
	for c := range classes {
		p, r := 0.0, 0.0
		if tp[c]+fp[c] > 0 {
			p = float64(tp[c]) / float64(tp[c]+fp[c])
		}
		if tp[c]+fn[c] > 0 {
			r = float64(tp[c]) / float64(tp[c]+fn[c])
		}
		if p+r > 0 {
			sum += 2 * p * r / (p + r)
		}
	}
	return float64(right) / float64(len(truth)), sum / float64(len(classes))
}

// Majority returns the most frequent value of xs (the smallest of equally
// frequent ones): the majority-class baseline.
func Majority(xs []string) string {
	c := map[string]int{}
	best := ""
	for _, x := range xs {
		c[x]++
	}
	for _, x := range xs {
		if c[x] > c[best] || (c[x] == c[best] && x < best) {
			best = x
		}
	}
	return best
}
