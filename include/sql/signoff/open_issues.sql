-- The open issues of the period about units in the subtree of the unit (the period's
-- tree), errors first: what blocks an approval (errors) and what its approver is shown
-- (warnings).
with subtree as (
    select descendant_code as unit_code
    from unit_closure
    where period = :period
      and ancestor_code = :unit_code
),

final as (
    select i.issue_id, i.severity, i.unit_code, i.form_code, i.field, i.rule,
           i.message_zh, i.message_en
    from validation_issue i
    join subtree t on t.unit_code = i.unit_code
    where i.period = :period
      and i.state = 'open'
)

select * from final
order by case severity when 'error' then 0 else 1 end, unit_code, issue_id
