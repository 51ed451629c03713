package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sift-aiops/sift/benchmarks/internal/loadgen"
)

// postSilences creates n active silences (for an hour) on the server of
// alertsURL, as `amtool silence add` would: silence k mutes the alert
// name and instance of label set k*distinct/n, so that n of the load's
// distinct alerts are silenced and the rest are matched against them.
func postSilences(alertsURL string, n, distinct int) error {
	base := strings.TrimSuffix(alertsURL, "/api/v2/alerts")
	now := time.Now().UTC()
	for k := 0; k < n; k++ {
		ls := loadgen.LabelSet(k * distinct / n)
		body, _ := json.Marshal(map[string]any{
			"matchers": []map[string]any{
				{"name": "alertname", "value": ls["alertname"], "isRegex": false, "isEqual": true},
				{"name": "instance", "value": ls["instance"], "isRegex": false, "isEqual": true},
			},
			"startsAt":  now.Format(time.RFC3339),
			"endsAt":    now.Add(time.Hour).Format(time.RFC3339),
			"createdBy": "ingestload",
			"comment":   fmt.Sprintf("benchmark silence %d", k),
		})
		resp, err := http.Post(base+"/api/v2/silences", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("POST silence %d: %d %s", k, resp.StatusCode, b)
		}
	}
	return nil
}

// receive serves a webhook sink on addr that answers 204 to every POST and
// prints how many it got when stopped (for the webhook targets of a
// benchmark).
func receive(addr string) error {
	var n atomic.Int64
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	http.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, n.Load()) })
	return http.ListenAndServe(addr, nil)
}
