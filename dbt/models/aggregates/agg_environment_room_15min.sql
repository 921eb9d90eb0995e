{{ environment_rollup('room', '15min') }}
