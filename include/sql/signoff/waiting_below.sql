-- For each candidate, the units directly below it in the period's tree (all of levels
-- 1-4 approve) whose latest sign-off action is not an approval: what it waits for.
{%- from 'signoff/candidates.sql' import approval_candidates %}
with candidates as (
    {{ approval_candidates(everywhere) }}
),

latest as (
    select unit_code, max(approval_id) as approval_id
    from approval
    where period = :period
    group by unit_code
),

approved as (
    select a.unit_code
    from approval a
    join latest l on l.approval_id = a.approval_id
    where a.state = 'approved'
),

final as (
    select c.ancestor_code as candidate, c.descendant_code as unit_code, u.name
    from area_closure c
    join candidates k on k.unit_code = c.ancestor_code
    join unit u on u.unit_code = c.descendant_code and u.valid_from is null
    left join approved p on p.unit_code = c.descendant_code
    where c.period = :period
      and c.depth = 1
      and p.unit_code is null
)

select * from final order by candidate, unit_code
