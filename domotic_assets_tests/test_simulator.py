"""The feed simulator: realistic, deterministic, and honest about the faults it injects."""

import hashlib
import json
from contextlib import suppress
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from domotic_assets.contracts.pidb import REFERENCE_TABLES
from domotic_assets.contracts.sensor_file import QuarantineError, flatten, read_sensor_file
from domotic_assets.contracts.timestamps import AMBIGUOUS
from domotic_assets.simulator.feed import SimulationConfig, simulate

UNREADABLE = {"malformed_json", "truncated", "empty_file", "not_utf8", "apartment_mismatch"}


def _documents(share, apartment):
    out = {}
    for path in sorted((share / apartment).rglob("*.json")):
        with suppress(QuarantineError):
            out[path.relative_to(share).as_posix()] = read_sensor_file(
                path.read_bytes(), apartment, "Europe/Zurich"
            )
    return out


def _tree_digest(root):
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".json", ".csv")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_same_seed_same_feed(tmp_path, feed_2days):
    again = SimulationConfig(
        out=tmp_path / "again", start=feed_2days.start, days=feed_2days.days, seed=feed_2days.seed
    )
    simulate(again)
    assert _tree_digest(again.out) == _tree_digest(feed_2days.out)
    other = SimulationConfig(out=tmp_path / "other", start=feed_2days.start, days=1, seed=feed_2days.seed + 1)
    simulate(other)
    noon = "jimmy/2023/08/18/jimmy_20230818T120000.json"
    assert (other.share / noon).read_bytes() != (feed_2days.share / noon).read_bytes()


def test_layout_and_volume_look_like_the_reference_feed(feed_2days):
    share = feed_2days.share
    assert list((share / "jimmy").glob("2023/08/18/*.json")), "jimmy files into dated sub-folders"
    assert list((share / "jeremie").glob("*.json")), "jeremie files flat"
    docs = _documents(share, "jimmy")
    assert 2 * 1440 * 0.95 < len(docs) < 2 * 1440 * 1.05
    sensors = {
        sid
        for doc in docs.values()
        for cat in ("plugs", "doors", "motions", "meteos", "humidities", "consumptions")
        for sid in doc.body.get(cat, {})
    }
    assert 18 <= len(sensors) <= 22
    per_file = np.mean([sum(1 for _ in flatten(d)) for d in list(docs.values())[:500]])
    assert 50 <= per_file <= 70


def test_naive_timestamps_for_one_gateway_and_offsets_for_the_other(feed_2days):
    jimmy = next((feed_2days.share / "jimmy").rglob("*.json")).read_text()
    assert '"timestamp":"2023-08-1' in jimmy and "+02:00" in jimmy
    jeremie_doc = _documents(feed_2days.share, "jeremie")
    raw = json.loads((feed_2days.share / next(iter(jeremie_doc))).read_bytes().lstrip(b"\xef\xbb\xbf"))
    assert len(raw["timestamp"]) == 19  # no offset


def _series(docs, category, sensor, measure):
    rows = []
    for doc in docs.values():
        entry = doc.body.get(category, {}).get(sensor)
        if (
            entry
            and isinstance(entry.get(measure), (int, float))
            and not isinstance(entry.get(measure), bool)
        ):
            rows.append((doc.ts, float(entry[measure])))
    return pd.Series(dict(sorted(rows)))


def test_signals_behave_like_an_apartment(feed_2days):
    docs = _documents(feed_2days.share, "jimmy")
    fridge = _series(docs, "plugs", "P-JIM-01", "power")
    compressor_on = fridge > 40
    switches = int((compressor_on != compressor_on.shift()).sum())
    assert 2 * 24 * 2 * 0.7 < switches < 2 * 24 * 2 * 1.5, "the fridge cycles about once an hour"
    meter = _series(docs, "consumptions", "C-JIM-01", "total").loc[lambda s: s > 0]
    assert (meter.diff().dropna() >= -1e-9).mean() > 0.99, "the main meter counts up"
    occupancy = pd.read_parquet(feed_2days.out / "manifest" / "occupancy.parquet")
    bedroom = occupancy[(occupancy.apartment == "jimmy") & (occupancy.room == "Bedroom")].set_index("ts")[
        "people"
    ]
    co2 = _series(docs, "meteos", "W-JIM-02", "co2")
    co2 = co2[(co2 > 300) & (co2 < 5000)]
    joined = pd.concat([co2.rename("co2"), bedroom.rename("people")], axis=1, join="inner")
    assert joined[joined.people > 0].co2.mean() > joined[joined.people == 0].co2.mean() + 100, (
        "people raise CO2"
    )


def test_every_injected_file_fault_is_in_the_files(feed_2days):
    faults = pd.read_parquet(feed_2days.out / "manifest" / "faults.parquet")
    assert {"bom", "string_number", "null", "sentinel", "impossible"} <= set(faults.kind)
    for row in faults[faults.kind.isin(UNREADABLE)].itertuples():
        raw = (feed_2days.share / row.file).read_bytes()
        try:
            read_sensor_file(raw, row.apartment, "Europe/Zurich")
            raise AssertionError(f"{row.file} was injected with {row.kind} but reads fine")
        except QuarantineError:
            pass
    for row in faults[faults.kind == "bom"].itertuples():
        assert (feed_2days.share / row.file).read_bytes().startswith(b"\xef\xbb\xbf")
    for row in faults[faults.kind == "sentinel"].head(20).itertuples():
        doc = read_sensor_file((feed_2days.share / row.file).read_bytes(), row.apartment, "Europe/Zurich")
        assert (
            doc.body[
                next(c for c in doc.body if isinstance(doc.body[c], dict) and row.sensor in doc.body[c])
            ][row.sensor][row.measure]
            == -999
        )


def test_no_faults_means_every_file_reads(tmp_path):
    config = SimulationConfig(out=tmp_path, days=1, faults="none", apartments=("jimmy",))
    summary = simulate(config)
    assert summary.faults == {}
    files = list(config.share.rglob("*.json"))
    assert len(files) == summary.files == 1440
    for path in files[::50]:
        for reading in flatten(read_sensor_file(path.read_bytes(), "jimmy", "Europe/Zurich")):
            assert reading.value is not None


def test_autumn_change_repeats_an_hour_of_wall_clock_names(tmp_path):
    config = SimulationConfig(
        out=tmp_path, start=date(2023, 10, 29), days=1, faults="none", apartments=("jimmy", "jeremie")
    )
    simulate(config)
    assert len(list((config.share / "jeremie").glob("*.json"))) == 1500  # a 25-hour day
    repeated = read_sensor_file(
        (config.share / "jeremie" / "jeremie_20231029T023000_2.json").read_bytes(), "jeremie", "Europe/Zurich"
    )
    assert repeated.ts_flag == AMBIGUOUS
    first = read_sensor_file(
        (config.share / "jimmy" / "2023/10/29" / "jimmy_20231029T023000.json").read_bytes(),
        "jimmy",
        "Europe/Zurich",
    )
    second = read_sensor_file(
        (config.share / "jimmy" / "2023/10/29" / "jimmy_20231029T023000_2.json").read_bytes(),
        "jimmy",
        "Europe/Zurich",
    )
    assert (second.ts - first.ts).total_seconds() == 3600  # with offsets both instants are exact
    assert first.ts == datetime(2023, 10, 29, 0, 30, tzinfo=UTC)


def test_pidb_has_every_contract_table_and_fake_people(feed_2days):
    engine = sa.create_engine(f"sqlite:///{feed_2days.out / 'pidb.sqlite'}")
    tables = set(sa.inspect(engine).get_table_names())
    assert set(REFERENCE_TABLES) | {"users"} <= tables
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == 5
        codes = {r[0] for r in conn.execute(sa.text("SELECT external_id FROM sensors"))}
        assert "P-JIM-01" in codes and "C-JER-01" in codes
        assert conn.execute(sa.text("SELECT count(*) FROM tariffs")).scalar() >= 3
    engine.dispose()


def test_weather_files_follow_the_contract(feed_2days):
    frame = pd.read_csv(feed_2days.meteo / "Pred_2023-08-18.csv", encoding="utf-8-sig")
    assert list(frame.columns) == ["Time", "Value", "Prediction", "Site", "Measurement", "Unit"]
    assert {"Sion", "Sierre"} <= set(frame.Site)
    assert frame.Prediction.between(0, 45).all()
    assert set(frame.Measurement) == {
        "PRED_T_2M_ctrl",
        "PRED_RELHUM_2M_ctrl",
        "PRED_TOT_PREC_ctrl",
        "PRED_GLOB_ctrl",
    }
    temps = frame[(frame.Measurement == "PRED_T_2M_ctrl") & (frame.Value > -1000)].Value
    assert 5 < temps.mean() < 35  # an August day in the Valais
