"""A weather forecast file (shared/contracts/weather-csv.md) -> standardised Silver rows.

* `-99999` (and any unreadable value) is missing: not a row, counted.
* Rows repeated in a file: one value per (site, measure, valid time, lead time); if the copies
  disagree the **last** row of the file wins (the service appends its corrections).
* Measures get standard names and units; other `PRED_*` columns are kept under their own code.
* Sites unknown to pidb are kept and marked (`known_site = false`) so the reference data can be fixed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd

from domotic_assets.contracts.sensor_file import QuarantineError
from domotic_assets.contracts.values import SENTINELS

STANDARD = {
    "PRED_T_2M_ctrl": ("air_temperature", "°C"),
    "PRED_RELHUM_2M_ctrl": ("relative_humidity", "%"),
    "PRED_TOT_PREC_ctrl": ("precipitation", "mm"),
    "PRED_GLOB_ctrl": ("global_radiation", "W/m2"),
}
CORE_MEASURES = tuple(name for name, _ in STANDARD.values())
COLUMNS = ["Time", "Value", "Prediction", "Site", "Measurement", "Unit"]
KEY = ["site", "measure", "valid_ts", "lead_hours"]


@dataclass
class WeatherRows:
    rows: pd.DataFrame
    rows_in_file: int
    missing: int
    duplicates: int
    unreadable: int


def parse_weather_file(data: bytes, known_sites: set[str]) -> WeatherRows:
    try:
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise QuarantineError("unreadable_csv", str(exc)[:200]) from None
    if list(frame.columns)[:6] != COLUMNS:
        raise QuarantineError("unexpected_columns", ",".join(map(str, frame.columns))[:200])
    total = len(frame)
    valid_ts = pd.to_datetime(frame["Time"], format="%Y-%m-%d %H:%M:%S", errors="coerce", utc=True)
    value = pd.to_numeric(frame["Value"].str.replace(",", ".", regex=False), errors="coerce")
    lead = pd.to_numeric(frame["Prediction"], errors="coerce")
    unreadable = valid_ts.isna() | lead.isna() | (frame["Site"] == "") | (frame["Measurement"] == "")
    missing = ~unreadable & (value.isna() | value.isin(SENTINELS))
    keep = ~unreadable & ~missing
    standard = frame["Measurement"].map(lambda code: STANDARD.get(code, (code.lower(), None)))
    rows = pd.DataFrame(
        {
            "site": frame["Site"],
            "measure": standard.map(lambda s: s[0]),
            "unit": [s[1] or u for s, u in zip(standard, frame["Unit"])],
            "valid_ts": valid_ts,
            "lead_hours": lead,
            "value": value,
            "source_code": frame["Measurement"],
        }
    )[keep]
    before = len(rows)
    rows = rows.drop_duplicates(KEY, keep="last").reset_index(drop=True)
    rows["lead_hours"] = rows["lead_hours"].astype(int)
    rows["known_site"] = rows["site"].isin(known_sites)
    return WeatherRows(
        rows=rows,
        rows_in_file=total,
        missing=int(missing.sum()),
        duplicates=before - len(rows),
        unreadable=int(unreadable.sum()),
    )
