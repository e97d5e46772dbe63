-- For each unit directly below the unit in the period's tree, the open issues of the
-- period in its subtree: errors, outliers and the other warnings (what the sign-off page
-- shows beside each unit below).
with children as (
    select descendant_code as child_code
    from area_closure
    where period = :period
      and ancestor_code = :unit_code
      and depth = 1
),

final as (
    select ch.child_code,
           sum(case when i.severity = 'error' then 1 else 0 end) as errors,
           sum(case when i.severity <> 'error' and i.rule like '%outlier%' then 1 else 0 end)
               as outliers,
           sum(case when i.severity <> 'error' and i.rule not like '%outlier%' then 1 else 0 end)
               as warnings
    from children ch
    join unit_closure c
      on c.period = :period
     and c.ancestor_code = ch.child_code
    join validation_issue i
      on i.period = :period
     and i.unit_code = c.descendant_code
     and i.state = 'open'
    group by ch.child_code
)

select * from final
