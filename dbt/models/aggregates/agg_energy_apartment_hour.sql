{{ energy_rollup('apartment', 'hour') }}
