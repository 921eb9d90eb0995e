"""Moving source data into the platform: landing sources, the Bronze store, the pidb import.

Plain Python with no Dagster import: assets, sensors and the CLI all call these functions.
"""
