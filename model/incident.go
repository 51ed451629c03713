package model

import "time"

// Incident statuses. An incident is open until all its alerts resolve (or
// an agent resolves it); acknowledged is open with someone on it.
const (
	IncidentOpen         = "open"
	IncidentAcknowledged = "acknowledged"
	IncidentResolved     = "resolved"
)

// Join reasons: why an alert became a member of an incident.
const (
	ReasonSeed     = "seed"     // first alert: it opened the incident
	ReasonGroup    = "group"    // same group_by label values within the window
	ReasonTopology = "topology" // service connected in the dependency graph
	ReasonInfra    = "infra"    // shares an infrastructure label (host, node, ...)
	ReasonText     = "text"     // similar alert name/summary text
	ReasonFlap     = "flap"     // a flapping member fired again
)

// Reason explains why an alert joined an incident.
type Reason struct {
	Kind   string  `json:"kind"`
	Detail string  `json:"detail"`
	Score  float64 `json:"score"`
	// Via is the member alert the new alert was matched against, if any.
	Via string `json:"via,omitempty"`
}

// Member is one alert of an incident.
type Member struct {
	Fingerprint Fingerprint `json:"fingerprint"`
	Name        string      `json:"alertname"`
	Service     string      `json:"service,omitempty"`
	JoinedAt    time.Time   `json:"joinedAt"`
	Reason      Reason      `json:"reason"`
}

// TimelineEntry is one event in an incident's life.
type TimelineEntry struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"` // opened, joined, resolved, reopened, acknowledged, assigned, ...
	Detail string    `json:"detail,omitempty"`
	Actor  string    `json:"actor,omitempty"`
	// Token names the API token the action came with (auth.tokens), when
	// access control is on.
	Token string `json:"token,omitempty"`
}

// RootCause names the probable root cause of an incident and why.
type RootCause struct {
	Service  string   `json:"service"`
	Evidence []string `json:"evidence,omitempty"`
	// Changes made shortly before the incident started on the root-cause
	// service, a service it depends on, or another service of the incident.
	Changes []CausalChange `json:"changes,omitempty"`
}

// Classification is what the classify stage decided for an incident.
type Classification struct {
	Team       string   `json:"team,omitempty"`
	Category   string   `json:"category,omitempty"`
	Priority   string   `json:"priority,omitempty"`
	Confidence float64  `json:"confidence,omitempty"`
	Sources    []string `json:"sources,omitempty"` // source of each decision: rule name, kNN neighbours, fallback
}

// Incident is a set of alerts with the same cause, now.
type Incident struct {
	ID         string          `json:"id"`
	Title      string          `json:"title"`
	Status     string          `json:"status"`
	Severity   string          `json:"severity,omitempty"`
	OpenedAt   time.Time       `json:"openedAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	ResolvedAt time.Time       `json:"resolvedAt,omitempty"`
	Signature  string          `json:"signature"`
	RootCause  RootCause       `json:"rootCause"`
	Services   []string        `json:"services,omitempty"`
	Members    []Member        `json:"members"`
	AlertCount int             `json:"alertCount"` // distinct alerts (Members may be capped in events)
	Timeline   []TimelineEntry `json:"timeline,omitempty"`
	Problem    string          `json:"problem,omitempty"`
	Assignee   string          `json:"assignee,omitempty"`
	Notes      string          `json:"notes,omitempty"`
	Class      *Classification `json:"classification,omitempty"`
	// Triage is the LLM's triage, when one was asked for and answered.
	Triage *Triage `json:"triage,omitempty"`
	// SLA is the incident's service-level clock, once its priority is known.
	SLA *SLA `json:"sla,omitempty"`
}

// Triage is an LLM's triage of an incident (see classify/llm). Its text is
// untrusted: shown escaped, never executed or followed. Team, Category and
// Priority are proposals inside the taxonomy; rules stay authoritative.
type Triage struct {
	Summary       string    `json:"summary"`
	ProbableCause string    `json:"probableCause"`
	NextSteps     []string  `json:"nextSteps"`
	Team          string    `json:"team,omitempty"`
	Category      string    `json:"category,omitempty"`
	Priority      string    `json:"priority,omitempty"`
	Source        string    `json:"source"` // "llm"
	Model         string    `json:"model"`
	At            time.Time `json:"at"`
}

// Problem links incidents with the same signature that keep recurring.
type Problem struct {
	ID        string    `json:"id"`
	Signature string    `json:"signature"`
	Title     string    `json:"title"`
	Incidents []string  `json:"incidents"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

// Incident event types published to downstream consumers.
const (
	EventOpened      = "opened"
	EventUpdated     = "updated"
	EventClassified  = "classified"
	EventResolved    = "resolved"
	EventReopened    = "reopened"
	EventSLABreached = "sla_breached" // Detail: "respond" or "resolve"
)

// IncidentEvent is a change to an incident, as published to exporters
// (Kafka incidents topic, ticketing bridges, the UI).
type IncidentEvent struct {
	Type     string    `json:"type"`
	At       time.Time `json:"at"`
	Detail   string    `json:"detail,omitempty"` // for sla_breached: which target was missed
	Incident *Incident `json:"incident"`
}

// Agent actions on an incident. They are journaled like alerts, so the
// incident state is a pure function of the journal.
const (
	ActionAck      = "ack"
	ActionAssign   = "assign"
	ActionResolve  = "resolve"
	ActionNote     = "note"
	ActionClassify = "classify"
	ActionTriage   = "triage" // an LLM's triage arrived (journaled: replay gives the same incident)

	// Actions on no incident: silences (Action.Silence; expire: Action.Value is its id).
	ActionSilence       = "silence"
	ActionExpireSilence = "expire_silence"
	// A change to a service (Action.Change), evidence for root causes.
	ActionChange = "change"
	// Dependency edges from a source outside the configuration
	// (Action.Topology), e.g. a service graph derived from traces.
	ActionTopology = "topology"
	// The classifier's priority for an incident (Action.Value), which sets
	// its SLA clock; an agent's classification wins over it.
	ActionPrioritize = "prioritize"
)

// Action is something an agent did to an incident.
type Action struct {
	At       time.Time       `json:"at"`
	Kind     string          `json:"kind"`
	Incident string          `json:"incident"`
	Actor    string          `json:"actor,omitempty"`
	Token    string          `json:"token,omitempty"` // API token it came with (auth.tokens)
	Value    string          `json:"value,omitempty"` // assignee, note text
	Class    *Classification `json:"classification,omitempty"`
	Triage   *Triage         `json:"triage,omitempty"`
	Silence  *Silence        `json:"silence,omitempty"`
	Change   *Change         `json:"change,omitempty"`
	Topology *TopologyUpdate `json:"topology,omitempty"`
}

// TopologyUpdate is the set of dependency edges a source knows now (it
// replaces that source's earlier update): DependsOn[client] lists the
// services client calls.
type TopologyUpdate struct {
	Source    string              `json:"source"`
	DependsOn map[string][]string `json:"dependsOn"`
}

// Record is one journal entry: a batch of alerts or an agent action.
type Record struct {
	Seq    uint64  `json:"seq"`
	Batch  *Batch  `json:"batch,omitempty"`
	Action *Action `json:"action,omitempty"`
}
