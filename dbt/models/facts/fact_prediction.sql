{{ config(
    materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns',
    post_hook=["drop index if exists {{ this.schema }}.fact_prediction_key",
               "create unique index if not exists fact_prediction_natural_key on {{ this }}
                (apartment_key, coalesce(room_key, 0), coalesce(device_key, 0), model_key, target_key, horizon_key, ts)"],
    indexes=[{'columns': ['local_day']}, {'columns': ['apartment_key', 'model_key', 'ts']}]
) }}
-- Predictions of the ML assets: apartment, room and device (null for a whole-apartment or whole-room value)
-- x model (and its version in gold.model_versions) x target x horizon x time, with an interval where the
-- model gives one. dbt owns the table and its keys; the ML assets write the rows, so a dbt run never
-- touches them (a --full-refresh empties the table: re-run the ML assets after it).
select
    null::timestamptz       as ts,
    null::date              as local_day,
    null::integer           as date_key,
    null::integer           as minute_of_day_key,
    null::integer           as apartment_key,
    null::integer           as room_key,
    null::integer           as device_key,
    null::integer           as model_key,
    null::integer           as model_version_key,
    null::integer           as target_key,
    null::integer           as horizon_key,
    null::double precision  as predicted_value,
    null::double precision  as lower_value,
    null::double precision  as upper_value,
    null::double precision  as confidence,
    null::timestamptz       as issued_at
where false
