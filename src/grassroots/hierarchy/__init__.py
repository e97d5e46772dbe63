"""The administrative hierarchy: ``registers`` reads and checks the official list and the
counties' registers without the warehouse; ``trees`` keeps them in it, with the tree
valid in each period."""
