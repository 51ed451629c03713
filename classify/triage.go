package classify

import (
	"fmt"
	"strings"

	"github.com/sift-aiops/sift/model"
)

// DefaultTriageWeight is the confidence given to a decision taken on an
// LLM's proposal.
const DefaultTriageWeight = 0.5

// WithTriage applies an LLM's proposals (t) to a classification, under
// gating that keeps a bad model from routing worse than the rules and kNN
// alone:
//   - a route, a service owner or a confident kNN vote decides as before
//     (rules stay authoritative): the proposal is only recorded;
//   - where the decision fell to the fallback, the proposal is taken if it
//     is in the taxonomy and either agrees with the kNN winner that was not
//     confident enough alone, or kNN had no candidate at all (a new
//     signature); a proposal that contradicts kNN's candidate is not taken;
//   - priority stays with the route or the priority matrix (configuration).
//
// With c.Trust, what the model has shown against agents' decisions
// adjusts the second rule: a model whose proposals agents confirmed at
// least TrustHigh of the time (over TrustMinSamples or more) is taken
// against kNN's unconfident candidate too, with its precision as weight;
// one below TrustLow is not taken at all.
//
// Sources record what came from the LLM and with what weight.
func (c *Classifier) WithTriage(res Result, t *model.Triage, weight float64) Result {
	return c.WithTriageTrust(res, t, weight, c.Trust)
}

// WithTriageTrust is WithTriage with the given trust counts (nil: none).
func (c *Classifier) WithTriageTrust(res Result, t *model.Triage, weight float64, trust *Trust) Result {
	if t == nil {
		return res
	}
	if weight <= 0 {
		weight = DefaultTriageWeight
	}
	res.Sources = append([]string(nil), res.Sources...)
	who := "llm " + t.Model
	prec, checked := trust.Level(t.Model)
	trusted := checked >= TrustMinSamples && prec >= TrustHigh
	distrusted := checked >= TrustMinSamples && prec < TrustLow
	if trusted {
		weight = prec
	}
	apply := func(field, proposal string, allowed map[string]bool, from *string, knn string, cur *string) {
		switch {
		case proposal == "":
			return
		case len(allowed) == 0 || !allowed[proposal]:
			res.Sources = append(res.Sources, fmt.Sprintf("%s: %s proposed %q, not in the taxonomy: ignored", field, who, proposal))
		case *from != "fallback":
			if proposal != *cur {
				res.Sources = append(res.Sources, fmt.Sprintf("%s: %s proposed %s; the %s decision stands", field, who, proposal, *from))
			}
		case distrusted:
			res.Sources = append(res.Sources, fmt.Sprintf("%s: %s proposed %s; not followed: agents confirmed %.0f%% of its %d checked proposals", field, who, proposal, 100*prec, checked))
		case !trusted && *cur != "":
			// A fallback that names an owner stands until agents have
			// shown the model is worth more: an unchecked model that
			// merely agrees with kNN's unconfident candidate could
			// route worse than the fallback does.
			res.Sources = append(res.Sources, fmt.Sprintf("%s: %s proposed %s; the fallback %s stands until agents have confirmed the model's proposals", field, who, proposal, *cur))
		case knn != "" && knn != proposal && !trusted:
			res.Sources = append(res.Sources, fmt.Sprintf("%s: %s proposed %s against kNN's candidate %s: neither confident, fallback kept", field, who, proposal, knn))
		default:
			*cur, *from = proposal, "llm"
			why := "no past incident to compare"
			switch {
			case trusted:
				why = fmt.Sprintf("agents confirmed %.0f%% of its %d checked proposals", 100*prec, checked)
			case knn != "":
				why = "agrees with kNN's candidate below the threshold"
			}
			for i, s := range res.Sources {
				if strings.HasPrefix(s, field+": fallback") {
					res.Sources = append(res.Sources[:i:i], res.Sources[i+1:]...)
					break
				}
			}
			res.Sources = append(res.Sources, fmt.Sprintf("%s: %s (weight %.2f; %s)", field, who, weight, why))
		}
	}
	before := res.TeamFrom
	apply("team", t.Team, c.teams, &res.TeamFrom, res.KNNTeam, &res.Team)
	if before == "fallback" && res.TeamFrom == "llm" {
		res.Confidence = weight
	}
	apply("category", t.Category, c.cats, &res.CategoryFrom, res.KNNCategory, &res.Category)
	if t.Priority != "" && t.Priority != res.Priority {
		res.Sources = append(res.Sources, fmt.Sprintf("priority: %s proposed %s; the priority rules decide", who, t.Priority))
	}
	return res
}

// PromptView is the classification to show an LLM: decisions that fell to
// the fallback are left blank and the kNN candidates that were not
// confident enough are not named, so that a proposal agreeing with kNN's
// candidate (which WithTriage takes) is the model's own reading of the
// incident and its neighbours, not an echo of the prompt.
func (r Result) PromptView() model.Classification {
	c := r.Classification
	c.Sources = nil
	for _, s := range r.Sources {
		if !strings.Contains(s, "fallback") {
			c.Sources = append(c.Sources, s)
		}
	}
	if r.TeamFrom == "fallback" {
		c.Team = ""
	}
	if r.CategoryFrom == "fallback" {
		c.Category = ""
	}
	return c
}
