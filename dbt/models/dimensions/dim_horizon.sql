-- How far ahead a value is predicted. Minute horizons serve fact_prediction (a row's horizon is the
-- smallest that covers its lead time); day horizons
-- (D0 = the issue day, D1 = the next day, ...) serve fact_weather_day.
select * from (values
    (0,  'PT0M',  'Now (a nowcast)', 0,    null),
    (1,  'PT15M', '15 minutes ahead', 15,   null),
    (2,  'PT1H',  '1 hour ahead',     60,   null),
    (3,  'PT6H',  '6 hours ahead',    360,  null),
    (4,  'PT24H', '24 hours ahead',   1440, null),
    (5,  'PT48H', '48 hours ahead',   2880, null),
    (10, 'D0',    'Same day',         null, 0),
    (11, 'D1',    'Next day',         null, 1),
    (12, 'D2',    'Day after next',   null, 2)
) as h (horizon_key, code, name, lead_minutes, lead_days)
