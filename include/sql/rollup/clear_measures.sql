-- A period's rollup is rebuilt whole.
delete from rollup_measure where period = :period
