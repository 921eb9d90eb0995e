{{ energy_rollup('device', 'hour') }}
