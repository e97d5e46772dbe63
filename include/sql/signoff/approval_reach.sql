-- How far sign-off reaches in one period: each unit of levels 1-4 under an approval in
-- force (its unit's latest action is 'approved'), with the highest level approving it.
with latest as (
    select unit_code, max(approval_id) as approval_id
    from approval
    where period = :period
    group by unit_code
),

approved as (
    select a.unit_code, a.level
    from approval a
    join latest l on l.approval_id = a.approval_id
    where a.state = 'approved'
),

final as (
    select c.period, c.descendant_code as unit_code, min(p.level) as level
    from approved p
    join area_closure c
      on c.period = :period
     and c.ancestor_code = p.unit_code
    group by c.period, c.descendant_code
)

insert into approval_reach (period, unit_code, level)
select period, unit_code, level from final
