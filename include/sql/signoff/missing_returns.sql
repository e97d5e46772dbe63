-- The units of one form's row level in the subtree of the unit (the period's tree) that
-- no accepted file of the period reports: the returns an approver would sign without.
-- Jinja fills in the form's table and row level (village: the villages' form).
{%- from 'scope.sql' import units_with_county %}
with expected as (
    {{ units_with_county(row_level, village) }}
),

in_subtree as (
    select e.unit_code
    from expected e
    join unit_closure c
      on c.period = :period
     and c.ancestor_code = :unit_code
     and c.descendant_code = e.unit_code
),

reported as (
    select distinct r.unit_code
    from {{ table }} r
    join submission s on s.submission_id = r.submission_id
    where s.period = :period
      and s.status = 'accepted'
),

final as (
    select u.unit_code
    from in_subtree u
    left join reported r on r.unit_code = u.unit_code
    where r.unit_code is null
)

select * from final order by unit_code
