-- The prediction models whose outputs land in fact_prediction (written by the ML assets).
select * from (values
    (1, 'energy_forecast',   'Energy forecast',   'Gradient-boosted forecast of an apartment''s consumption'),
    (2, 'presence',          'Room presence',     'Probability that someone is in a room'),
    (3, 'anomaly_detection', 'Anomaly detection', 'Score of how unusual a room''s readings are')
) as m (model_key, code, name, description)
