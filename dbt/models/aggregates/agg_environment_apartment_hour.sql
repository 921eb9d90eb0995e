{{ environment_rollup('apartment', 'hour') }}
