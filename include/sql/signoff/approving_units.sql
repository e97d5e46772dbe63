-- Every unit of levels 1-4 in the subtree of the unit (the period's tree), the unit
-- itself included, with its level, its parent and its latest approval action: who
-- approves what, and where each stands.
with subtree as (
    select descendant_code as unit_code, descendant_level as level
    from area_closure
    where period = :period
      and ancestor_code = :unit_code
),

latest as (
    select a.unit_code, max(a.approval_id) as approval_id
    from approval a
    where a.period = :period
    group by a.unit_code
),

final as (
    select t.unit_code, t.level, u.parent_code, u.name,
           a.approval_id, a.state, a."by", a."at", a.reason, a.release_id
    from subtree t
    join unit u on u.unit_code = t.unit_code and u.valid_from is null
    left join latest l on l.unit_code = t.unit_code
    left join approval a on a.approval_id = l.approval_id
)

select * from final order by level, unit_code
