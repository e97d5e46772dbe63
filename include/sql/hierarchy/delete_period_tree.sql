-- The tree of a period is rebuilt whole.
delete from unit_closure where period = :period
