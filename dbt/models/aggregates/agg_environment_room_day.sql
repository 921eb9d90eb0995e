{{ environment_rollup('room', 'day') }}
