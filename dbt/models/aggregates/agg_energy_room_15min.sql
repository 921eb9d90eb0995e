{{ energy_rollup('room', '15min') }}
