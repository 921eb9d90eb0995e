"""The writer locks of `warehouse.day_locks`: writers of a day take turns, writers of other days and tables do
not wait, and a long backfill holds few locks. (Two real runs of the same day: test_interruptions.)"""

import threading
from datetime import date

from domotic_assets.warehouse.connection import connect
from domotic_assets.warehouse.day_locks import day_writer, plan


def test_writers_of_a_day_take_turns_writers_of_other_days_do_not_and_a_long_backfill_holds_few_locks(
    warehouse_dsn,
):
    def writer(tables, days, started: threading.Event, release: threading.Event):
        with connect(warehouse_dsn, autocommit=True) as conn, day_writer(conn, tables, days, "a test writer"):
            started.set()
            release.wait(30)

    def start(tables, days):
        started, release = threading.Event(), threading.Event()
        thread = threading.Thread(target=writer, args=(tables, days, started, release), daemon=True)
        thread.start()
        return thread, started, release

    january = [date(2024, 1, d) for d in range(1, 32)]
    backfill, backfill_in, end_backfill = start(["sensor_events"], january)
    assert backfill_in.wait(10)
    live, live_in, end_live = start(["sensor_events"], [date(2024, 1, 15)])
    assert not live_in.wait(1), "a day inside a running backfill waits"
    other_table, other_in, end_other = start(["weather_clean"], [date(2024, 1, 15)])
    assert other_in.wait(10), "another table's day does not"
    end_backfill.set()
    assert live_in.wait(10), "the backfill done, the day is written"
    neighbour, neighbour_in, end_neighbour = start(["sensor_events"], [date(2024, 1, 16)])
    assert neighbour_in.wait(10), "two live days of one month go side by side"
    for release in (end_live, end_other, end_neighbour):
        release.set()
    for thread in (backfill, live, other_table, neighbour):
        thread.join(10)
    # three years of twenty tables: 720 month locks, well inside PostgreSQL's shared lock table
    three_years = [date.fromordinal(date(2023, 1, 1).toordinal() + i) for i in range(1096)]
    assert len(plan([f"gold/t{i}" for i in range(20)], three_years)) == 20 * 36
