"""One module per revision, in order: ``0001`` is the schema of the release at commit
4f667cd; each later one is a change since."""
