-- A rollup starts from an empty slot: what was there belonged to a superseded release
-- (or an unpublished rollup), which no view reads.
delete from {{ table }} where period = :period and slot = :slot
