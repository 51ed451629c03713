-- Sift history, migration 3: per hour and alert name, the exact sets of
-- fingerprints, refired and flapping episodes, filled on insert, so the
-- noisy / flapping alert names read one row per hour and name instead of
-- every alert row (the exact distinct fingerprints over 10M rows were most
-- of that query).
-- Runs on ClickHouse 18.16 and on current releases alike (no
-- SimpleAggregateFunction, no toStartOfInterval).
-- Statements are separated by lines holding only ";".
--
-- Every column is a set (uniqExact state): of cityHash64(fingerprint), and
-- of the event_id of the refired rows and of the flapping episodes. A row
-- inserted twice, the backfill below run twice (two instances migrating at
-- once) or overlapping with the view, change no answer. Episodes and
-- notifications per name come from alert_volume_hourly (migration 1).
-- The hour is computed from the Unix time (whole UTC hours, whatever the
-- server's time zone). Read it with uniqExactMerge / uniqExactIfMerge,
-- GROUP BY alertname.
CREATE TABLE IF NOT EXISTS alert_names_hourly (
    hour          DateTime,
    alertname     String,
    fingerprints  AggregateFunction(uniqExact, UInt64),
    refires       AggregateFunction(uniqExactIf, UInt64, UInt8),
    flapping      AggregateFunction(uniqExactIf, UInt64, UInt8)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, alertname)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS alert_names_hourly_mv TO alert_names_hourly
AS SELECT
    toDateTime(intDiv(toUInt32(event_time), 3600) * 3600) AS hour,
    alertname,
    uniqExactState(cityHash64(fingerprint)) AS fingerprints,
    uniqExactIfState(event_id, kind = 'refired') AS refires,
    uniqExactIfState(event_id, kind != 'resolved' AND flapping = 1) AS flapping
FROM alert_events
GROUP BY hour, alertname
;
-- The rows already in alert_events (a database made by an earlier
-- release). Rows written while this runs may be in both the view and this
-- step: sets, so no answer changes.
INSERT INTO alert_names_hourly (hour, alertname, fingerprints, refires, flapping)
SELECT
    toDateTime(intDiv(toUInt32(event_time), 3600) * 3600) AS hour,
    alertname,
    uniqExactState(cityHash64(fingerprint)),
    uniqExactIfState(event_id, kind = 'refired'),
    uniqExactIfState(event_id, kind != 'resolved' AND flapping = 1)
FROM alert_events
GROUP BY hour, alertname
