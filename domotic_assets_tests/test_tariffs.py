"""The time-of-use tariff rule in Python (the independent twin of Gold's tariff_calendar)."""

from datetime import date, datetime, time

import pytest

from domotic_assets.simulator.pidb import TARIFF_ROWS
from domotic_assets.transform.tariffs import TariffRow, tariff_at

ROWS = [TariffRow(i, *row) for i, row in enumerate(TARIFF_ROWS, 1)]


@pytest.mark.parametrize(
    "local, period, price",
    [
        (datetime(2023, 10, 30, 6, 59), "low", 0.2480),  # Monday before the high window
        (datetime(2023, 10, 30, 7, 0), "high", 0.3320),  # it starts at 07:00 (included)
        (datetime(2023, 10, 30, 19, 59), "high", 0.3320),
        (datetime(2023, 10, 30, 20, 0), "low", 0.2480),  # and ends at 20:00 (excluded)
        (datetime(2023, 10, 30, 23, 30), "low", 0.2480),  # the night window crosses midnight
        (datetime(2023, 10, 31, 3, 0), "low", 0.2480),
        (datetime(2023, 10, 28, 12, 0), "low", 0.2480),  # Saturday: the whole day is low
        (datetime(2023, 12, 31, 12, 0), "low", 0.2480),  # last day of the 2023 prices (a Sunday)
        (datetime(2024, 1, 2, 12, 0), "high", 0.3190),  # the 2024 prices from their valid_from
    ],
)
def test_the_row_valid_at_a_local_minute(local, period, price):
    row = tariff_at(ROWS, "OIKEN-DT", local)
    assert (row.period, row.price_chf_kwh) == (period, price)


def test_every_minute_of_a_week_has_exactly_one_row():
    for day in range(23, 30):  # Monday 2023-10-23 .. Sunday
        for minute in range(0, 1440, 7):
            assert tariff_at(ROWS, "OIKEN-DT", datetime(2023, 10, day, minute // 60, minute % 60)) is not None


def test_overlapping_rows_are_an_error_not_a_guess():
    overlap = TariffRow(99, "OIKEN-DT", date(2023, 1, 1), None, "high", "1111111", time(12), time(13), 0.5)
    with pytest.raises(ValueError, match="2 rows"):
        tariff_at([*ROWS, overlap], "OIKEN-DT", datetime(2023, 10, 28, 12, 30))


def test_an_unknown_tariff_has_no_row():
    assert tariff_at(ROWS, "NOPE", datetime(2023, 10, 28, 12, 30)) is None
