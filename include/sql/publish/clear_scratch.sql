delete from fact_indicator_swap where period = :period
