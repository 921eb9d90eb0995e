{{ energy_rollup('apartment', '15min') }}
