-- The release before the previous one is not kept as rows (its release row stays).
delete from fact_indicator_previous where period = :period
