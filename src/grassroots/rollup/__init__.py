"""Rollup: the accepted rows summed up the period's tree into the release being built.
``stage.rollup`` is the entry point."""
