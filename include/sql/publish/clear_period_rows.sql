-- A period's rows of one published table (or its kin: previous, scratch, rollup) go,
-- inside the publish or rollback transaction.
delete from {{ table }} where period = :period
