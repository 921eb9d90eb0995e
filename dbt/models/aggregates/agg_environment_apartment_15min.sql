{{ environment_rollup('apartment', '15min') }}
