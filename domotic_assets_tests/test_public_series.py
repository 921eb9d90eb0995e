"""The real public series are read as their sources measured them: a gap the packager filled is a gap
again."""

import numpy as np
import pandas as pd

from domotic_assets.ml.public_series import amsterdam_radiation, day_before_copies, sceaux_household


def test_a_long_run_equal_to_the_day_before_is_a_filled_gap_and_a_short_one_is_not():
    minutes = np.random.default_rng(1).gamma(2.0, 0.5, 4 * 1440)
    minutes[2 * 1440 + 100 : 2 * 1440 + 140] = minutes[
        1440 + 100 : 1440 + 140
    ]  # 40 minutes copied from the day before
    minutes[3 * 1440 + 600 : 3 * 1440 + 610] = minutes[
        2 * 1440 + 600 : 2 * 1440 + 610
    ]  # 10 minutes alike by chance
    copied = day_before_copies(minutes)
    assert np.flatnonzero(copied).tolist() == list(range(2 * 1440 + 100, 2 * 1440 + 140))


def test_the_sceaux_household_reads_the_packagers_filling_as_gaps():
    series = sceaux_household()
    values = series.values
    assert values.index.freq == pd.Timedelta(minutes=15) and str(values.index.tz) == "UTC"
    # UCI documents 25,979 unmeasured minutes (1.25 %); the package filled them with the day before
    assert 0.011 < values.isna().mean() < 0.014
    gap = values["2007-04-28 01:00":"2007-04-30 12:00"]  # 62 hours unmeasured from 00:21 on 28 April 2007
    assert gap.isna().all()
    june = values[
        "2008-05-19":"2008-07-01"
    ]  # the days the realised-savings benchmark plays, and their history
    assert june.notna().all() and 0.3 < june.mean() < 2.0  # kW, a household's size


def test_the_typical_year_of_radiation_is_a_whole_year_of_days_and_nights():
    radiation = amsterdam_radiation()
    assert len(radiation) == 8760 and (radiation >= 0).all()
    june = radiation.loc[6]
    assert june.xs(0, level="hour").max() == 0 and june.xs(12, level="hour").mean() > 300
