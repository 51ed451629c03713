// Package amcompat talks to an Alertmanager v2 API (the real Alertmanager, or
// Sift's own compatible endpoint) so that tests can check Sift against the
// real peer: same alert identity (fingerprint), same validation.
package amcompat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sift-aiops/sift/model"
)

// PostableAlert is the body element of POST /api/v2/alerts.
type PostableAlert struct {
	Labels       model.LabelSet `json:"labels"`
	Annotations  model.LabelSet `json:"annotations,omitempty"`
	StartsAt     *time.Time     `json:"startsAt,omitempty"`
	EndsAt       *time.Time     `json:"endsAt,omitempty"`
	GeneratorURL string         `json:"generatorURL,omitempty"`
}

// GettableAlert is one element of the answer of GET /api/v2/alerts.
type GettableAlert struct {
	Labels       model.LabelSet `json:"labels"`
	Annotations  model.LabelSet `json:"annotations"`
	StartsAt     time.Time      `json:"startsAt"`
	EndsAt       time.Time      `json:"endsAt"`
	UpdatedAt    time.Time      `json:"updatedAt"`
	GeneratorURL string         `json:"generatorURL"`
	Fingerprint  string         `json:"fingerprint"`
	Status       struct {
		State       string   `json:"state"`
		SilencedBy  []string `json:"silencedBy"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
	Receivers []struct {
		Name string `json:"name"`
	} `json:"receivers"`
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Code, strings.TrimSpace(e.Body))
}

// Client calls one Alertmanager-compatible base URL (http://host:port).
type Client struct {
	BaseURL string
	HTTP    *http.Client // nil: a client with a 30 s timeout
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// FromAlerts converts model alerts to the v2 POST form.
func FromAlerts(alerts []model.Alert) []PostableAlert {
	out := make([]PostableAlert, len(alerts))
	for i, a := range alerts {
		out[i] = PostableAlert{Labels: a.Labels, Annotations: a.Annotations, GeneratorURL: a.GeneratorURL}
		if !a.StartsAt.IsZero() {
			s := a.StartsAt
			out[i].StartsAt = &s
		}
		if !a.EndsAt.IsZero() {
			e := a.EndsAt
			out[i].EndsAt = &e
		}
	}
	return out
}

// PostAlerts sends alerts with POST /api/v2/alerts. A non-2xx answer is a
// *StatusError.
func (c *Client) PostAlerts(ctx context.Context, alerts []PostableAlert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return &StatusError{Code: resp.StatusCode, Body: string(b)}
	}
	return nil
}

// GetAlerts returns the alerts of GET /api/v2/alerts (active, silenced,
// inhibited and unprocessed: Alertmanager's defaults).
func (c *Client) GetAlerts(ctx context.Context) ([]GettableAlert, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/api/v2/alerts", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Code: resp.StatusCode, Body: string(b)}
	}
	var out []GettableAlert
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decode GET /api/v2/alerts: %w", err)
	}
	return out, nil
}

// DropEmpty returns ls without its empty-valued labels. Alertmanager removes
// them on POST /api/v2/alerts before computing the fingerprint (an empty
// label value means "label absent" in Prometheus), so this is the label set
// whose Fingerprint matches the one Alertmanager reports.
func DropEmpty(ls model.LabelSet) model.LabelSet {
	out := make(model.LabelSet, len(ls))
	for k, v := range ls {
		if v != "" {
			out[k] = v
		}
	}
	return out
}
