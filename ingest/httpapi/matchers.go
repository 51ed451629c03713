package httpapi

import "github.com/sift-aiops/sift/model"

// parseMatchers parses one filter parameter as Alertmanager does (see
// model.ParseMatchers).
func parseMatchers(s string) ([]*model.Matcher, error) { return model.ParseMatchers(s) }
