{{ energy_rollup('device', 'day') }}
