-- The period's current release becomes the previous one, kept for comparison.
update release set status = 'superseded' where period = :period and status = 'current'
