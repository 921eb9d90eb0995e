{{ energy_rollup('room', 'day') }}
