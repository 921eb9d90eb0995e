{{ energy_rollup('device', '15min') }}
