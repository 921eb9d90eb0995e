{{ environment_rollup('room', 'hour') }}
