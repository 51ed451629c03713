-- Sift history, migration 1: the event tables and an hourly rollup.
-- Runs on ClickHouse 18.16 and on current releases alike: no
-- LowCardinality, DateTime64, Map or window functions.
-- Statements are separated by lines holding only ";".

-- One row per alert state change: an episode starts (firing the first time,
-- refired later) or ends (resolved). event_id identifies the change (a hash
-- of fingerprint, kind and time): a row written twice is merged away, and
-- analytics count uniqExact(event_id) where a duplicate would matter.
CREATE TABLE IF NOT EXISTS alert_events (
    event_id      UInt64,
    event_time    DateTime,
    fingerprint   String,
    alertname     String,
    service       String,
    severity      String,
    status        String,
    kind          String,
    starts_at     DateTime,
    incident_id   String,
    team          String,
    priority      String,
    notifications UInt32,
    flapping      UInt8,
    labels_keys   Array(String),
    labels_values Array(String),
    version       UInt32
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(event_time)
ORDER BY (event_time, event_id)
;
-- One row per incident lifecycle event: opened, joined, moved, merged,
-- flapping, problem, reopened, resolved, acknowledged, assigned, note,
-- classified. The incident's attributes are the ones it had then.
CREATE TABLE IF NOT EXISTS incident_events (
    event_id     UInt64,
    event_time   DateTime,
    incident_id  String,
    event        String,
    detail       String,
    actor        String,
    fingerprint  String,
    alertname    String,
    services     Array(String),
    root_cause   String,
    signature    String,
    title        String,
    severity     String,
    team         String,
    category     String,
    priority     String,
    problem_id   String,
    opened_at    DateTime,
    alert_count  UInt32,
    version      UInt32
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(event_time)
ORDER BY (event_time, event_id)
;
-- Hourly alert volume per service and alert name, filled on insert (for
-- dashboards over long ranges; read it with sum()).
CREATE MATERIALIZED VIEW IF NOT EXISTS alert_volume_hourly
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, service, alertname)
AS SELECT
    toStartOfHour(event_time) AS hour,
    service,
    alertname,
    countIf(kind != 'resolved') AS episodes,
    sum(notifications) AS notifications
FROM alert_events
GROUP BY hour, service, alertname
