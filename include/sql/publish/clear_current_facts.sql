-- The published rows of the period are replaced whole, inside the publish transaction.
delete from fact_indicator where period = :period
