{{ config(
    materialized='incremental', incremental_strategy='append',
    post_hook="create unique index if not exists fact_prediction_key on {{ this }}
               (apartment_key, coalesce(room_key, 0), model_key, target_key, horizon_key, ts)",
    indexes=[{'columns': ['local_day']}]
) }}
-- Predictions of the ML assets: room (null for a whole-apartment forecast) x model x target x horizon x time.
-- dbt owns the table and its keys; the ML assets write the rows, so a dbt run never touches them
-- (a --full-refresh empties the table: re-run the ML assets after it).
select
    null::timestamptz       as ts,
    null::date              as local_day,
    null::integer           as date_key,
    null::integer           as minute_of_day_key,
    null::integer           as apartment_key,
    null::integer           as room_key,
    null::integer           as model_key,
    null::integer           as target_key,
    null::integer           as horizon_key,
    null::double precision  as predicted_value,
    null::double precision  as confidence,
    null::timestamptz       as issued_at
where false
