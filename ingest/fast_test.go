package ingest

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// slowAMv2 is what encoding/json makes of the same input.
func slowAMv2(data []byte) ([]amv2Alert, bool) {
	switch firstByte(data) {
	case '{':
		out := make([]amv2Alert, 1)
		return out, json.Unmarshal(data, &out[0]) == nil
	case '[':
		var out []amv2Alert
		return out, json.Unmarshal(data, &out) == nil
	}
	return nil, false
}

var fastSeeds = []string{
	`[]`,
	`[{}]`,
	`{"labels":{"alertname":"A"}}`,
	`[{"labels":{"alertname":"A","severity":"critical"},"annotations":{"summary":"x \u003e y","d":"tab\there \"q\" \\ \/ é 😀 \ud83d\ude00"},"startsAt":"2026-11-24T22:53:18.783Z","endsAt":"","generatorURL":"http://x/?a=1\u0026b=2"}]`,
	` [ { "labels" : { "a" : "b" } } , { "labels" : { } } ] `,
	`[{"labels":{"a":"1","a":"2"}}]`,
	`[{"labels":{"a":"1"},"labels":{"b":"2"}}]`,
	`[{"Labels":{"a":"1"}}]`,
	`[{"labels":{"a":null}}]`,
	`[{"labels":{"a":1}}]`,
	`[{"labels":null}]`,
	`[{"labels":{"a":"b"}},]`,
	`[{"labels":{"a":"b"}}] x`,
	`[{"labels":{"a":"\x"}}]`,
	"[{\"labels\":{\"a\":\"\xff\"}}]",
	"[{\"labels\":{\"a\":\"\x01\"}}]",
	`[{"labels":{"\u0061lertname":"A"}}]`,
	`[{"extra":1,"labels":{"a":"b"}}]`,
	`[{"startsAt":"x","startsAt":"y"}]`,
	`[{"labels":{"a":"b"}`,
	`[1]`,
	`{"labels":{"a":"b"}}{}`,
	"[{\"startsAt\":\"a\\nb\"},{\"startsAt\":\"a\nb\"}]",
	`[{"startsAt":"ab"},{"startsAt":"a\u0062"},{"startsAt":"ab"}]`,
	// names and values compared with those at the same position before
	`[{"labels":{"a":"1","b":"2"}},{"labels":{"a":"1","b":"2","c":"3"}},{"labels":{"b":"2","a":"1"}},{"labels":{"a":"1"}}]`,
	`[{"labels":{"a":"x"},"annotations":{"a":"y"}},{"labels":{"\u0061":"x"},"annotations":{"a":"y\n"}},{"labels":{"a":"x"}}]`,
	"[{\"labels\":{\"a\":\"x\"}},{\"labels\":{\"a\":\"x\n\"}}]",
}

func TestFastPathMatchesEncodingJSON(t *testing.T) {
	inputs := append([]string{}, fastSeeds...)
	inputs = append(inputs, string(batchBody(20)))
	if dir := os.Getenv("SIFT_SHARED_DATA"); dir != "" {
		for _, n := range []string{"prometheus_alerts_sample.json", "prometheus_alerts_resolved_sample.json"} {
			b, err := os.ReadFile(filepath.Join(dir, "captures", n))
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, string(b))
			if _, ok := fastAMv2(b); !ok {
				t.Errorf("%s: the fast path declined a real Prometheus body", n)
			}
		}
	}
	if _, ok := fastAMv2(batchBody(20)); !ok {
		t.Error("the fast path declined a typical body")
	}
	for _, in := range inputs {
		checkFastEquivalence(t, []byte(in))
	}
}

func checkFastEquivalence(t *testing.T, data []byte) {
	t.Helper()
	fast, ok := fastAMv2(data)
	if !ok {
		return // declined: encoding/json decides
	}
	slow, sok := slowAMv2(data)
	if !sok {
		t.Fatalf("fast path accepted %q, encoding/json rejects it", data)
	}
	if len(fast) == 0 && len(slow) == 0 {
		return
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fast path differs on %q:\nfast %#v\nslow %#v", data, fast, slow)
	}
}

func FuzzFastAMv2(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastEquivalence(t, data)
	})
}

func TestFastRecentCache(t *testing.T) {
	// A literal control character equal to an earlier escaped one is still
	// invalid JSON; an escaped value after a plain one decodes normally.
	for _, in := range []string{
		"[{\"startsAt\":\"a\\nb\"},{\"startsAt\":\"a\nb\"}]",
		`[{"startsAt":"ab"},{"startsAt":"a\u0062"},{"startsAt":"ab"}]`,
		`[{"endsAt":"x"},{"endsAt":"x"},{"endsAt":"x\"}]`,
		`[{"generatorURL":"u"},{"generatorURL":"u"}]`,
	} {
		checkFastEquivalence(t, []byte(in))
	}
	if _, ok := fastAMv2([]byte("[{\"startsAt\":\"a\\nb\"},{\"startsAt\":\"a\nb\"}]")); ok {
		t.Error("fast path accepted a raw newline in a string")
	}
}

// objectEndRef is objectEnd written plainly, one byte at a time.
func objectEndRef(d []byte, i int) int {
	for j := i + 1; j < len(d); j++ {
		switch d[j] {
		case '"':
			for j++; j < len(d) && d[j] != '"'; j++ {
				if d[j] == '\\' {
					j++
				}
			}
			if j >= len(d) {
				return -1
			}
		case '}':
			return j + 1
		case '{', '[':
			return -1
		}
	}
	return -1
}

func TestObjectEnd(t *testing.T) {
	for in, want := range map[string]int{
		`{}`:                       2,
		`{"a":"b"} x`:              9,
		`{"a":"\\"}`:               10,
		`{"a":"\\\"}"}`:            13,
		`{"a\"}":"b"}`:             12,
		`{"a":"b\\\\"}`:            13,
		`{"a":"}`:                  -1,
		`{"a":"b"`:                 -1,
		`{"a":{"b":"c"}}`:          -1,
		`{"a":["b"]}`:              -1,
		` {"a" : "b" , "c":"d" }x`: -1, // starts with a space, not '{'
	} {
		if got := objectEnd([]byte(in), 0); got != want && !(in[0] == ' ' && got == objectEndRef([]byte(in), 0)) {
			t.Errorf("objectEnd(%q) = %d, want %d", in, got, want)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte(`{}[]"\\ab:, `)
	for range 20000 {
		d := make([]byte, 1+r.IntN(30))
		for i := range d {
			d[i] = alphabet[r.IntN(len(alphabet))]
		}
		d[0] = '{'
		if got, want := objectEnd(d, 0), objectEndRef(d, 0); got != want {
			t.Fatalf("objectEnd(%q) = %d, the plain scan says %d", d, got, want)
		}
	}
}
