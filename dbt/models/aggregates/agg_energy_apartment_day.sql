{{ energy_rollup('apartment', 'day') }}
