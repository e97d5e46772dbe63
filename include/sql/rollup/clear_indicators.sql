-- A period's rollup is rebuilt whole.
delete from rollup_indicator where period = :period
