"""`household_schedules`: per day, every household's optimised schedule in `gold.schedules` with its KPIs
in `gold.schedule_kpis` (cost without battery, with the rule-based strategy, optimised, as sent;
self-consumption)."""

import dagster as dg

from domotic_assets.defs.check_results import check_metadata, nothing_to_judge
from domotic_assets.defs.day_writers import writing_days
from domotic_assets.defs.failures import warehouse_guard
from domotic_assets.defs.partitions import (
    DAY_BEFORE,
    partition_days,
    planning_partitions,
    single_run_backfill,
)
from domotic_assets.defs.resources import WarehouseResource
from domotic_assets.optimise.plan import plan_day
from domotic_assets.optimise.scenario import read_scenario
from domotic_assets.warehouse.schedule_inputs import battery_follows_plan, households, scenario_for
from domotic_assets.warehouse.schedule_tables import replace_schedule

CHECKS = {
    "schedules_verified": (
        True,
        "The independent checker finds every optimised schedule sound: energy balance in every "
        "slot, state-of-charge bounds and recursion, never both ways, appliance runs in their windows.",
    ),
    "schedules_beat_rule_based": (
        False,
        "No schedule as sent (the plan's appliances, the battery by the rule unless it follows the plan) "
        "costs more than the rule-based strategy (energy left in the battery counted), and none had to be "
        "relaxed.",
    ),
    "schedules_made": (
        False,
        "Every household with load history before the day got a schedule (a tariff or a "
        "radiation forecast missing is named, with the days it is missing for).",
    ),
}
PLANNING_INPUTS = [
    "gold/fact_energy_minute",
    "gold/agg_household_telemetry_15min",
    "weather_clean",
    "household_telemetry",
    "energy_forecast",
]
"""Day-partitioned inputs of a plan, each as of the day before the planned day (see DAY_BEFORE)."""


@dg.asset(
    partitions_def=planning_partitions,
    backfill_policy=single_run_backfill,
    group_name="gold",
    kinds={"postgres", "python"},
    deps=[
        *(
            dg.AssetDep(dg.AssetKey.from_user_string(key), partition_mapping=DAY_BEFORE)
            for key in PLANNING_INPUTS
        ),
        dg.AssetKey(["gold", "dim_device"]),
        "dim_tariffs",
        "dim_energy_profiles",
        "dim_devices",
        "dim_parameters",
    ],
    check_specs=[
        dg.AssetCheckSpec(name, asset="household_schedules", blocking=blocking, description=text)
        for name, (blocking, text) in CHECKS.items()
    ],
    description="gold.schedules and gold.schedule_kpis: each household's battery and shiftable appliances "
    "scheduled for the day against its tariff, the ML load forecast (or history) and a PV forecast from "
    "the radiation forecast (MILP, HiGHS). A day is planned the day before, once that day's weather and "
    "energy forecast are in.",
)
def household_schedules(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    planned, too_new, unscheduled, unsound, worse = {}, {}, {}, {}, {}
    missing_days: set[str] = set()
    with warehouse_guard(context), warehouse.connect() as conn, writing_days(context, conn):
        follow_plan = battery_follows_plan(conn)
        for day in partition_days(context):
            for household in households(conn):
                key = f"{household.code} {day}"
                inputs = scenario_for(conn, household, day)
                if inputs.document is None:
                    (too_new if inputs.lacking == "load_history" else unscheduled)[key] = inputs.notes[
                        "missing"
                    ]
                    if inputs.lacking == "pv_forecast":
                        missing_days.add(day.isoformat())
                    continue
                scenario = read_scenario(inputs.document)
                plan = plan_day(scenario, follow_plan)
                replace_schedule(
                    conn,
                    household.apartment_key,
                    str(household.apartment_key),
                    day,
                    scenario,
                    plan,
                    inputs.notes,
                    inputs.document,
                )
                planned[key] = f"{plan.kpis['status']}, CHF {plan.kpis['cost_sent_chf']:.2f}" + (
                    f", {plan.kpis['savings_vs_rule_based_pct']:+.1f} % vs rule-based"
                    if plan.kpis["savings_vs_rule_based_pct"] is not None
                    else ""
                )
                if plan.violations:
                    unsound[key] = plan.violations[:5]
                if plan.schedule.status != "optimal" or (plan.kpis["savings_vs_rule_based_pct"] or 0) < -0.5:
                    worse[key] = (
                        plan.schedule.reason
                        or plan.kpis["reason"]
                        or f"{plan.kpis['savings_vs_rule_based_pct']} %"
                    )
    if too_new or unscheduled:
        context.log.warning(
            f"no schedule for {len(too_new) + len(unscheduled)} household-day(s): {too_new | unscheduled}"
        )
    households_judged = len(planned) + len(unscheduled)
    return dg.MaterializeResult(
        metadata={
            "schedules": len(planned),
            "planned": dg.MetadataValue.json(planned),
            "skipped": dg.MetadataValue.json(too_new | unscheduled),
            "dagster/row_count": len(planned),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="schedules_verified",
                passed=not unsound,
                metadata=check_metadata({"schedules": len(planned), "unsound": unsound}),
            )
            if planned
            else nothing_to_judge(
                "schedules_verified", "no schedule was made", too_new=too_new, unscheduled=unscheduled
            ),
            dg.AssetCheckResult(
                check_name="schedules_beat_rule_based",
                passed=not worse,
                severity=dg.AssetCheckSeverity.WARN,
                metadata=check_metadata({"schedules": len(planned), "worse_or_relaxed": worse}),
            )
            if planned
            else nothing_to_judge("schedules_beat_rule_based", "no schedule was made"),
            dg.AssetCheckResult(
                check_name="schedules_made",
                passed=not unscheduled,
                severity=dg.AssetCheckSeverity.WARN,
                metadata=check_metadata(
                    {
                        "households_with_history": households_judged,
                        "unscheduled": unscheduled,
                        "missing_days": sorted(missing_days),
                        "too_new_to_plan": too_new,
                    }
                ),
            )
            if households_judged
            else nothing_to_judge(
                "schedules_made", "no household has load history before these days", too_new_to_plan=too_new
            ),
        ],
    )
