-- The units of one form's row level in the subtree of each candidate (the period's tree)
-- that no accepted file of the period reports: the returns an approver would sign
-- without. Jinja fills in the form's table and row level (village: the villages' form).
{%- from 'scope.sql' import tree_units, join_area_ancestors %}
{%- from 'signoff/candidates.sql' import approval_candidates %}
with candidates as (
    {{ approval_candidates(everywhere) }}
),

expected as (
    {{ tree_units(row_level, village) }}
),

reported as (
    select distinct r.unit_code
    from {{ table }} r
    join submission s on s.submission_id = r.submission_id
    where s.period = :period
      and s.status = 'accepted'
),

final as (
    select tree.ancestor_code as candidate, e.unit_code
    from expected e
    {{- join_area_ancestors('tree', 'e.unit_code', row_level, village) }}
    join candidates k on k.unit_code = tree.ancestor_code
    left join reported r on r.unit_code = e.unit_code
    where r.unit_code is null
)

select * from final order by candidate, unit_code
