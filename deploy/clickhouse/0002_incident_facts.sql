-- Sift history, migration 2: one row per incident with its facts, so the
-- per-incident analytics (MTTA/MTTR, recurring problems, emerging
-- signatures) read one narrow row per incident instead of rebuilding each
-- incident from its lifecycle rows at query time.
-- Runs on ClickHouse 18.16 and on current releases alike.
-- Statements are separated by lines holding only ";".
--
-- The writer keeps it up to date: after writing lifecycle rows it
-- recomputes the facts of the incidents concerned from all their rows in
-- incident_events (INSERT ... SELECT ... GROUP BY incident_id), so a row is
-- a pure function of incident_events, and writing it twice is harmless.
-- The rows of one incident are merged by ReplacingMergeTree; the one with
-- the highest version wins: the time of the incident's latest lifecycle
-- event (in seconds) times 2^20 plus the number of its distinct lifecycle
-- rows (a late row with an earlier time still makes a newer version).
-- Read it with FINAL (or argMax(..., version) GROUP BY incident_id).
--
-- The rules are those of the embedded store: opened_at is the earliest
-- opened_at of its "opened" rows, acknowledged_at the first
-- acknowledgement, resolved_at the last resolution, alertname the alert of
-- its first "opened" row, team ... title the latest non-empty value (by
-- event time, then value), alert_count the largest. The zero DateTime
-- (1970-01-01) means "none".
CREATE TABLE IF NOT EXISTS incident_facts (
    incident_id      String,
    opened_at        DateTime,
    opened_times     Array(DateTime),
    first_event      DateTime,
    last_event       DateTime,
    acknowledged_at  DateTime,
    resolved_at      DateTime,
    reopened         UInt32,
    alertname        String,
    team             String,
    category         String,
    priority         String,
    root_cause       String,
    signature        String,
    problem_id       String,
    title            String,
    severity         String,
    services         Array(String),
    alert_count      UInt32,
    sla_respond_breached UInt8,
    sla_resolve_breached UInt8,
    version          UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY incident_id
;
-- The facts of the incidents already in incident_events (a database made
-- by an earlier release): rebuilt once, here. Later rows keep them up to
-- date. Two instances migrating at once insert the same rows twice, which
-- the engine merges away.
INSERT INTO incident_facts (incident_id, opened_at, opened_times, first_event, last_event, acknowledged_at, resolved_at,
    reopened, alertname, team, category, priority, root_cause, signature, problem_id, title, severity, services,
    alert_count, sla_respond_breached, sla_resolve_breached, version)
SELECT incident_id,
    minIf(opened_at, event = 'opened'),
    arraySort(groupUniqArrayIf(event_time, event = 'opened')),
    min(event_time),
    max(event_time),
    minIf(event_time, event = 'acknowledged'),
    maxIf(event_time, event = 'resolved'),
    toUInt32(uniqExactIf(event_id, event = 'reopened')),
    argMinIf(alertname, (event_time, alertname), event = 'opened'),
    argMaxIf(team, (event_time, team), team != ''),
    argMaxIf(category, (event_time, category), category != ''),
    argMaxIf(priority, (event_time, priority), priority != ''),
    argMaxIf(root_cause, (event_time, root_cause), root_cause != ''),
    argMaxIf(signature, (event_time, signature), signature != ''),
    argMaxIf(problem_id, (event_time, problem_id), problem_id != ''),
    argMaxIf(title, (event_time, title), title != ''),
    argMaxIf(severity, (event_time, severity), severity != ''),
    argMaxIf(services, event_time, notEmpty(services)),
    toUInt32(max(alert_count)),
    toUInt8(countIf(event = 'sla_breached' AND startsWith(detail, 'response')) > 0),
    toUInt8(countIf(event = 'sla_breached' AND startsWith(detail, 'resolution')) > 0),
    toUInt64(max(event_time)) * 1048576 + least(uniqExact(event_id), 1048575)
FROM incident_events
GROUP BY incident_id
