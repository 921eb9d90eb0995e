"""What is in the warehouse, for people: file counts, quarantine reasons, rows per table."""

from __future__ import annotations

from datetime import date

import psycopg

from domotic_assets.warehouse import gold_quality


def table_rows(conn: psycopg.Connection, schemas=("meta", "silver", "gold")) -> list[tuple[str, int]]:
    # partitioned tables once (their partitions are counted in them), views not at all
    tables = conn.execute(
        """SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                               AND c.relname NOT LIKE '%%\\_\\_load'
                             ORDER BY 1""",
        (list(schemas),),
    ).fetchall()
    return [(name, conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for (name,) in tables]


def sensor_file_summary(conn: psycopg.Connection) -> dict:
    total, stored, pending = conn.execute("""SELECT count(*), count(*) FILTER (WHERE bronze_path <> ''),
                                                    count(*) FILTER (WHERE bronze_path IS NULL)
                                             FROM meta.bronze_sensor_files""").fetchone()
    reasons = conn.execute("""SELECT quarantine_reason, count(*) FROM meta.bronze_sensor_files
                              WHERE quarantine_reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC""").fetchall()
    weather = conn.execute("SELECT count(*) FROM meta.bronze_weather_files").fetchone()[0]
    return {
        "registered": total,
        "stored": stored,
        "not_yet_stored": pending,
        "quarantined": dict(reasons),
        "weather_files": weather,
    }


def gold_figures(conn: psycopg.Connection, first: date, last: date, ground_truth: str | None) -> str:
    """One line on Gold for the demo: energy against the meter, cost, and presence against the truth."""
    days = gold_quality.days_between(first, last)
    _ok, energy = gold_quality.energy_reconciliation(conn, days)
    kwh, chf = conn.execute(
        """SELECT sum(energy_kwh), sum(cost_chf) FROM gold.fact_energy_minute
                               WHERE is_main_meter AND local_day BETWEEN %s AND %s""",
        (first, last),
    ).fetchone()
    line = (
        f"{kwh or 0:.1f} kWh, CHF {chf or 0:.2f} (main meters), "
        f"worst gap to the meter {energy['worst_gap_pct']} %"
    )
    truth = gold_quality.occupancy_file(ground_truth)
    if truth:
        presence = gold_quality.presence_accuracy(conn, days, truth)
        line += f"; presence precision {presence.get('precision')}, recall {presence.get('recall')}"
    return line


def schedule_figures(conn: psycopg.Connection, first: date, last: date) -> str | None:
    """One line on the schedules of the days: how many, and what they save against the rule-based strategy."""
    row = conn.execute(
        """SELECT count(*), count(DISTINCT household), sum(comparable_rule_based_chf),
               sum(comparable_sent_chf),
                                 count(*) FILTER (WHERE status <> 'optimal')
                          FROM gold.schedule_kpis WHERE local_day BETWEEN %s AND %s""",
        (first, last),
    ).fetchone()
    count, households, rules, sent, not_optimal = row
    if not count:
        return None
    saving = 100 * (rules - sent) / abs(rules) if rules else 0.0
    return (
        f"{count} schedules for {households} household(s): CHF {sent:.2f} as sent against CHF {rules:.2f} "
        f"rule-based ({saving:+.1f} %, energy left in the battery counted)"
        + (f"; {not_optimal} not optimal" if not_optimal else "")
    )


def prediction_figures(conn: psycopg.Connection) -> list[str]:
    """One line per model: its predictions in Gold and the held-out scores of its newest version."""
    rows = conn.execute("""
        SELECT m.code, count(p.*), min(p.local_day), max(p.local_day),
               (SELECT v.metrics FROM gold.model_versions v WHERE v.model_key = m.model_key
                 AND NOT v.metrics ? 'not_evaluated' ORDER BY v.training_last_day DESC LIMIT 1)
        FROM gold.dim_model m LEFT JOIN gold.fact_prediction p USING (model_key)
        GROUP BY m.model_key, m.code ORDER BY m.model_key""").fetchall()
    shown = {
        "energy_forecast": ("mae_kwh", "typical_day_mae_kwh", "improvement_vs_typical_day"),
        "presence": ("f1", "baseline_f1"),
        "anomaly_detection": (),
    }
    lines = []
    for code, count, first, last, metrics in rows:
        scores = ", ".join(
            f"{k}={metrics[k]}" for k in shown.get(code, ()) if metrics and metrics.get(k) is not None
        )
        lines.append(
            f"{code}: {count:,} predictions"
            + (f" for {first} .. {last}" if count else "")
            + (f" ({scores})" if scores else "")
        )
    anomalies = conn.execute("SELECT count(*) FROM gold.anomalies").fetchone()[0]
    lines.append(f"anomalies found: {anomalies} (gold.anomalies, each with its reason)")
    return lines
