delete from rollup_measure_before where period = :period
