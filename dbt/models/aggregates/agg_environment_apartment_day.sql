{{ environment_rollup('apartment', 'day') }}
