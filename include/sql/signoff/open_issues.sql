-- The open issues of the period about units in the subtree of each candidate (the
-- period's tree), errors first: what blocks an approval (errors) and what its approver is
-- shown (warnings). A village's issues reach the candidate through its township.
{%- from 'signoff/candidates.sql' import approval_candidates %}
with candidates as (
    {{ approval_candidates(everywhere) }}
),

about_units as (
    select a.ancestor_code as candidate, i.issue_id
    from validation_issue i
    join area_closure a
      on a.period = :period
     and a.descendant_code = i.unit_code
     and a.ancestor_level = :level
    where i.period = :period
      and i.state = 'open'
),

about_villages as (
    select a.ancestor_code as candidate, i.issue_id
    from validation_issue i
    join period_village v
      on v.period = :period
     and v.unit_code = i.unit_code
    join area_closure a
      on a.period = :period
     and a.descendant_code = v.parent_code
     and a.ancestor_level = :level
    where i.period = :period
      and i.state = 'open'
),

found as (
    select candidate, issue_id from about_units
    union all
    select candidate, issue_id from about_villages
),

final as (
    select f.candidate, i.issue_id, i.severity, i.unit_code, i.form_code, i.field, i.rule,
           i.message_zh, i.message_en
    from found f
    join candidates k on k.unit_code = f.candidate
    join validation_issue i on i.issue_id = f.issue_id
)

select * from final
order by candidate, case severity when 'error' then 0 else 1 end, unit_code, issue_id
