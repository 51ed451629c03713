package correlate

import (
	"strings"
	"testing"
	"time"
)

// A configured role wins over the words: an alert that reads like a
// cause but is a propagated symptom joins the failing dependency's fault.
func TestConfiguredRoleWinsOverWords(t *testing.T) {
	run := func(cfg Config) int {
		e := New(cfg, Topology{DependsOn: map[string][]string{"orders": {"rabbitmq"}}})
		send(e, al("RabbitMQDown", "rabbitmq"), time.Minute, time.Minute)
		send(e, al("ConsumerMissing", "orders"), 70*time.Second, 70*time.Second)
		return len(e.All())
	}
	if n := run(Config{}); n != 2 {
		t.Fatalf("by its words ConsumerMissing is a cause of its own: %d incidents", n)
	}
	if n := run(Config{Roles: []RoleRule{{Matchers: []string{`alertname="ConsumerMissing"`}, Role: RoleSymptom}}}); n != 1 {
		t.Fatalf("configured as a symptom it should join: %d incidents", n)
	}
}

// A configured cause is never background noise, however often it fired
// alone before.
func TestConfiguredCauseIsNotNoise(t *testing.T) {
	run := func(cfg Config) bool {
		e := New(cfg, Topology{DependsOn: map[string][]string{"profile": {"memcached"}}})
		for i := 0; i < 8; i++ { // alone, every time
			off := time.Duration(i) * time.Hour
			send(e, al("MemcachedEvictionsHigh", "memcached"), off, off)
			resolve(e, al("MemcachedEvictionsHigh", "memcached"), off+10*time.Minute)
		}
		off := 20 * time.Hour
		send(e, al("MemcachedEvictionsHigh", "memcached"), off, off)
		st := alertState(e, "MemcachedEvictionsHigh")
		return st != nil && strings.Contains(dump(e.Incident(st.Incident).Members), "background noise")
	}
	if !run(Config{}) {
		t.Fatal("without a rule the name should have been learned as noise")
	}
	if run(Config{Roles: []RoleRule{{Matchers: []string{`alertname=~"Memcached.*"`}, Role: RoleCause}}}) {
		t.Fatal("a configured cause was taken for noise")
	}
}

func TestRoleRulesValidate(t *testing.T) {
	for _, c := range []struct {
		r    RoleRule
		want string
	}{
		{RoleRule{Matchers: []string{`a="b"`}, Role: "root"}, "correlate.roles[0].role"},
		{RoleRule{Role: RoleCause}, "correlate.roles[0].matchers"},
		{RoleRule{Matchers: []string{`a=~"("`}, Role: RoleCause}, "correlate.roles[0].matchers[0]"},
	} {
		err := Config{Roles: []RoleRule{c.r}}.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.r, err, c.want)
		}
	}
}
