"""Sign-off by level (逐级审核): townships, counties, cities and the region approve a
period's data of their subtree, in order (``actions``)."""
