"""What an operator's monitoring reads from the warehouse (`meta.platform_metrics`), for `/metrics`: how
fresh each apartment's Silver minutes, each household's telemetry and each apartment's Gold are, what was
quarantined, the optimize queue, batteries held at a state-of-charge limit, and the last backup and
archive. Counts and ages only: no reading and no personal data.

The function is SECURITY DEFINER, granted to the API's role, which reads no table itself. Each part finds
its newest row through an index (the apartment's newest file, each household's newest reading per
measure), so a scrape stays cheap on years of minutes."""

from __future__ import annotations

import json

import psycopg

from domotic_assets.optimise.household_parameters import BATTERY_DEFAULTS
from domotic_assets.warehouse.telemetry_quality import SILENCE_LIMIT_MINUTES

TELEMETRY_MEASURES = ("consumption", "pv_power", "battery_soc", "battery_power")
SOC_SLACK_PCT = 0.5
"""A state of charge within this many points of a limit counts as held at it."""

DDL = """
CREATE OR REPLACE FUNCTION meta.platform_metrics(silence_minutes float8, soc_min float8, soc_max float8)
RETURNS TABLE (metric text, labels jsonb, value float8)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF to_regclass('silver.dim_parameters') IS NOT NULL THEN
        silence_minutes := coalesce((SELECT p.value::text::float8 FROM silver.dim_parameters p
            WHERE p.name = 'telemetry_silence_minutes' ORDER BY p.valid_from DESC LIMIT 1), silence_minutes);
        soc_min := coalesce((SELECT p.value::text::float8 FROM silver.dim_parameters p
            WHERE p.name = 'battery_soc_min' ORDER BY p.valid_from DESC LIMIT 1), soc_min);
        soc_max := coalesce((SELECT p.value::text::float8 FROM silver.dim_parameters p
            WHERE p.name = 'battery_soc_max' ORDER BY p.valid_from DESC LIMIT 1), soc_max);
    END IF;
    RETURN QUERY SELECT 'silence_limit_seconds', '{}'::jsonb, silence_minutes * 60;

    -- each apartment's newest minute in Silver: its newest file that was loaded
    RETURN QUERY
    WITH RECURSIVE apartments AS (
        (SELECT f.apartment FROM meta.bronze_sensor_files f ORDER BY f.apartment LIMIT 1)
        UNION ALL
        SELECT (SELECT f.apartment FROM meta.bronze_sensor_files f WHERE f.apartment > a.apartment
                ORDER BY f.apartment LIMIT 1)
        FROM apartments a WHERE a.apartment IS NOT NULL)
    SELECT 'silver_last_minute_age_seconds', jsonb_build_object('apartment', a.apartment),
           extract(epoch FROM now() - newest.doc_ts)::float8
    FROM apartments a
    CROSS JOIN LATERAL (
        SELECT f.doc_ts FROM meta.bronze_sensor_files f JOIN silver.etl_watermark w ON w.file_id = f.id
        WHERE f.apartment = a.apartment AND f.doc_ts IS NOT NULL AND w.status = 'loaded'
        ORDER BY f.doc_ts DESC LIMIT 1) newest
    WHERE a.apartment IS NOT NULL;

    -- each household's newest telemetry, its battery's state of charge and how long it is held at a limit
    RETURN QUERY
    WITH RECURSIVE households AS (
        (SELECT t.household FROM silver.household_telemetry t ORDER BY t.household LIMIT 1)
        UNION ALL
        SELECT (SELECT t.household FROM silver.household_telemetry t WHERE t.household > h.household
                ORDER BY t.household LIMIT 1)
        FROM households h WHERE h.household IS NOT NULL),
    newest AS (
        SELECT h.household, m.measure, last.ts, last.value
        FROM households h
        CROSS JOIN unnest(%(measures)s::text[]) AS m(measure)
        CROSS JOIN LATERAL (
            SELECT t.ts, t.value FROM silver.household_telemetry t
            WHERE t.household = h.household AND t.measure = m.measure ORDER BY t.ts DESC LIMIT 1) last
        WHERE h.household IS NOT NULL),
    socs AS (
        SELECT n.household, n.ts, n.value,
               n.value <= soc_min * 100 + %(slack)s OR n.value >= soc_max * 100 - %(slack)s AS at_limit
        FROM newest n WHERE n.measure = 'battery_soc')
    SELECT 'telemetry_last_reading_age_seconds', jsonb_build_object('household', n.household),
           extract(epoch FROM now() - max(n.ts))::float8
    FROM newest n GROUP BY n.household
    UNION ALL
    SELECT 'battery_soc_percent', jsonb_build_object('household', s.household), s.value FROM socs s
    UNION ALL
    SELECT 'battery_at_soc_limit_seconds', jsonb_build_object('household', s.household),
           CASE WHEN NOT s.at_limit THEN 0 ELSE extract(epoch FROM s.ts - coalesce(
               (SELECT t.ts FROM silver.household_telemetry t
                WHERE t.household = s.household AND t.measure = 'battery_soc'
                  AND t.value > soc_min * 100 + %(slack)s AND t.value < soc_max * 100 - %(slack)s
                ORDER BY t.ts DESC LIMIT 1),
               (SELECT min(t.ts) FROM silver.household_telemetry t
                WHERE t.household = s.household AND t.measure = 'battery_soc')))::float8 END
    FROM socs s;

    -- each apartment's newest Gold minute
    IF to_regclass('gold.fact_energy_minute') IS NOT NULL
       AND to_regclass('gold.dim_apartment') IS NOT NULL THEN
        RETURN QUERY
        SELECT 'gold_last_minute_age_seconds', jsonb_build_object('apartment', a.code),
               extract(epoch FROM now() - newest.ts)::float8
        FROM gold.dim_apartment a
        CROSS JOIN LATERAL (SELECT max(f.ts) AS ts FROM gold.fact_energy_minute f
                            WHERE f.apartment_key = a.apartment_key) newest
        WHERE newest.ts IS NOT NULL;
    END IF;

    RETURN QUERY
    SELECT 'quarantined', jsonb_build_object('source', q.source, 'reason', q.reason), count(*)::float8
    FROM meta.quarantine q GROUP BY q.source, q.reason;

    RETURN QUERY
    SELECT 'optimize_queue_length', '{}'::jsonb, count(*)::float8
    FROM meta.optimize_jobs j WHERE j.status = 'queued';

    -- the newest finished backup and archive: when, and whether it failed
    RETURN QUERY
    SELECT 'operation_last_failed', jsonb_build_object('operation', o.operation), (NOT o.ok)::int::float8
    FROM (SELECT DISTINCT ON (r.operation) r.operation, r.ok FROM meta.operation_runs r
          WHERE r.finished_at IS NOT NULL ORDER BY r.operation, r.finished_at DESC) o
    UNION ALL
    SELECT 'operation_last_success_timestamp_seconds', jsonb_build_object('operation', r.operation),
           extract(epoch FROM max(r.finished_at))::float8
    FROM meta.operation_runs r WHERE r.ok GROUP BY r.operation;
END $fn$;
""".replace("%(measures)s", "'{" + ",".join(TELEMETRY_MEASURES) + "}'").replace(
    "%(slack)s", str(SOC_SLACK_PCT)
)


async def read(conn: psycopg.AsyncConnection) -> list[tuple[str, dict[str, str], float]]:
    """(metric, labels, value) as the warehouse has them now."""
    cur = await conn.execute(
        "SELECT metric, labels::text, value FROM meta.platform_metrics(%s, %s, %s)",
        (SILENCE_LIMIT_MINUTES, BATTERY_DEFAULTS["battery_soc_min"], BATTERY_DEFAULTS["battery_soc_max"]),
    )
    return [(metric, json.loads(labels), value) for metric, labels, value in await cur.fetchall()]
