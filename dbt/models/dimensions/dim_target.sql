-- What a prediction is about, with its unit.
select * from (values
    (1, 'energy_kwh',    'Energy',             'kWh'),
    (2, 'power_w',       'Power',              'W'),
    (3, 'presence_prob', 'Presence',           'probability'),
    (4, 'anomaly_score', 'Anomaly score',      'score'),
    (5, 'temperature',   'Indoor temperature', '°C')
) as t (target_key, code, name, unit)
