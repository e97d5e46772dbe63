"""Publish: the release the rollup built audited and made current (write-audit-publish).
``stage.publish`` is the entry point."""
