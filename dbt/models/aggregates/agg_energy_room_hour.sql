{{ energy_rollup('room', 'hour') }}
