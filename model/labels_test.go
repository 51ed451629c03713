package model

import "testing"

// The expected values are fingerprints Alertmanager 0.25 itself reported
// (captures in shared/data/captures) for the same label sets.
func TestFingerprintMatchesAlertmanager(t *testing.T) {
	ls := LabelSet{"alertname": "AlwaysFiring", "cluster": "kfaketest", "service": "db", "severity": "critical"}
	if got := ls.Fingerprint().String(); got != "c809db4e47fb2461" {
		t.Fatalf("fingerprint = %s, want c809db4e47fb2461 (as Alertmanager)", got)
	}
	f, err := ParseFingerprint("c809db4e47fb2461")
	if err != nil || f != ls.Fingerprint() {
		t.Fatalf("ParseFingerprint round trip: %v %v", f, err)
	}
	if _, err := ParseFingerprint("xyz"); err == nil {
		t.Fatal("ParseFingerprint accepted garbage")
	}
	other := LabelSet{"alertname": "AlwaysFiring", "cluster": "kfaketest", "service": "db", "severity": "warning"}
	if other.Fingerprint() == ls.Fingerprint() {
		t.Fatal("different label sets share a fingerprint")
	}
}

func TestValidLabelName(t *testing.T) {
	for _, ok := range []string{"a", "_x", "alert_name2", "A"} {
		if !ValidLabelName(ok) {
			t.Errorf("%q should be valid", ok)
		}
	}
	for _, bad := range []string{"", "1a", "a-b", "a.b", "ä"} {
		if ValidLabelName(bad) {
			t.Errorf("%q should be invalid", bad)
		}
	}
}
