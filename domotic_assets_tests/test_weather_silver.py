"""silver.weather_clean: the cases of weather-csv.md, on hand-made files and through the asset."""

import dagster as dg
import psycopg
import pytest

from domotic_assets.contracts.sensor_file import QuarantineError
from domotic_assets.defs.bronze.assets import bronze_weather_files
from domotic_assets.defs.resources import build_resources
from domotic_assets.defs.silver.assets import pidb_dimensions, weather_clean
from domotic_assets.transform.weather import parse_weather_file

HEADER = "Time,Value,Prediction,Site,Measurement,Unit\n"


def test_missing_values_duplicates_and_unknown_sites():
    text = HEADER + (
        "2023-08-18 06:00:00,17.9,0,Sion,PRED_T_2M_ctrl,°C\n"
        "2023-08-18 07:00:00,-99999,1,Sion,PRED_GLOB_ctrl,Watt/m2\n"
        "2023-08-18 07:00:00,18.6,1,Sion,PRED_T_2M_ctrl,°C\n"
        "2023-08-18 07:00:00,18.6,1,Sion,PRED_T_2M_ctrl,°C\n"
        "2023-08-18 07:00:00,18.9,1,Sion,PRED_T_2M_ctrl,°C\n"
        "2023-08-18 07:00:00,3.1,1,Zermatt,PRED_T_2M_ctrl,°C\n"
        "2023-08-18 07:00:00,1.5,1,Sion,PRED_W_10M_ctrl,m/s\n"
        "not a time,1,1,Sion,PRED_T_2M_ctrl,°C\n"
    )
    parsed = parse_weather_file(b"\xef\xbb\xbf" + text.encode(), {"Sion"})
    rows = parsed.rows.set_index(["site", "measure", "lead_hours"])
    assert (
        parsed.rows_in_file == 8 and parsed.missing == 1 and parsed.unreadable == 1 and parsed.duplicates == 2
    )
    assert rows.loc[("Sion", "air_temperature", 1), "value"] == 18.9, "the last copy in the file wins"
    assert rows.loc[("Sion", "air_temperature", 0), "unit"] == "°C"
    assert rows.loc[("Sion", "pred_w_10m_ctrl", 1), "value"] == 1.5, "other PRED_* columns are kept"
    assert not rows.loc[("Zermatt", "air_temperature", 1), "known_site"]
    assert ("Sion", "global_radiation", 1) not in rows.index, "-99999 is missing, not a value"
    assert str(parsed.rows.valid_ts.dt.tz) == "UTC"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"\xff\xfe\x00garbage", "unreadable_csv"),
        (b"a;b;c\n1;2;3\n", "unexpected_columns"),
        (b"", "unreadable_csv"),
    ],
)
def test_unreadable_files_are_quarantined(data, reason):
    with pytest.raises(QuarantineError) as caught:
        parse_weather_file(data, set())
    assert caught.value.reason == reason


def _completeness(result) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == "weather_completeness")


def test_the_newest_issue_of_a_day_wins_and_completeness_is_checked(settings, feed):
    resources = build_resources(settings)
    assert dg.materialize([pidb_dimensions], resources=resources).success
    tags = {
        "dagster/asset_partition_range_start": "2023-08-18",
        "dagster/asset_partition_range_end": "2023-08-18",
    }
    first = dg.materialize([bronze_weather_files, weather_clean], resources=resources, tags=tags)
    assert first.success
    complete = _completeness(first)
    assert complete.passed and complete.metadata["below_limit"].value == {}, complete.metadata
    with psycopg.connect(settings.pg_dsn) as conn:
        sites = {
            r[0] for r in conn.execute("SELECT DISTINCT site FROM silver.weather_clean WHERE known_site")
        }
        assert sites == {"Sion", "Sierre"}
        before = conn.execute(
            "SELECT value FROM silver.weather_clean WHERE site = 'Sion' AND measure = 'air_temperature' "
            "AND lead_hours = 3"
        ).fetchone()[0]
    # the service issues the day again: one value corrected, and Sierre's forecast cut after 10 hours
    reissued = feed.meteo / "Pred_2023-08-18.csv"
    text = reissued.read_bytes().decode("utf-8-sig").splitlines()
    text = [
        line.replace(line.split(",")[1], "30.5", 1) if ",3,Sion,PRED_T_2M_ctrl," in line else line
        for line in text
    ]
    text = [
        line
        for line in text
        if not (",Sierre," in line and line.split(",")[2].isdigit() and int(line.split(",")[2]) > 10)
    ]
    reissued.write_text("\n".join(text) + "\n")
    second = dg.materialize([bronze_weather_files, weather_clean], resources=resources, tags=tags)
    assert second.success
    with psycopg.connect(settings.pg_dsn) as conn:
        after = conn.execute(
            "SELECT value, bronze_path FROM silver.weather_clean WHERE site = 'Sion' "
            "AND measure = 'air_temperature' AND lead_hours = 3"
        ).fetchone()
        versions = conn.execute(
            "SELECT count(*) FROM meta.bronze_weather_files WHERE issue_day = '2023-08-18'"
        ).fetchone()[0]
    assert before != 30.5 and after[0] == 30.5 and after[1].endswith(".v2.csv") and versions == 2
    incomplete = _completeness(second)
    assert not incomplete.passed and incomplete.severity == dg.AssetCheckSeverity.WARN
    assert list(incomplete.metadata["below_limit"].value) == ["2023-08-18 Sierre"], incomplete.metadata
