-- After a publish: the new release is current, the one before it previous, older ones
-- superseded. One statement, so the statuses always agree with the tables.
update release
set status = case
        when release_id = :release_id then 'current'
        when release_id = :previous_release_id then 'previous'
        else 'superseded'
    end
where period = :period
