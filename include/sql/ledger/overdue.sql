-- The plans overdue at a cut-off day (cutoff): in each village's latest ledger up to the
-- quarter last_quarter (the state of the plan then), a deadline before the cut-off and
-- a state that is not converted, consolidated or closed; with the village's township in
-- the period's tree. Where unit_code is given, the villages under it alone.
{%- import 'rollup/accepted_rows.sql' as rows %}
{%- import 'ledger/history.sql' as ledger %}
select pv.parent_code as township_code, r.unit_code, r.unit_name, r.problem_type,
       r.responsible, r.county_leader, r.first_secretary, r.approved_on, r.deadline,
       r.state, r.state_on, r.submission_id, r.row_number
from (
{{ rows.latest_accepted('stg_rectification_ledger', ':period', sub_periods=(':first_quarter', ':last_quarter')) }}
) r
join period_village pv on pv.period = :period and pv.unit_code = r.unit_code
where r.latest_in_period = 1
  and r.deadline < :cutoff
  and r.state not in {{ ledger.converted_states() }}
  and (cast(:unit_code as varchar(12)) is null
       or r.unit_code in (select descendant_code from unit_closure
                          where period = :period and ancestor_code = :unit_code))
order by pv.parent_code, r.deadline, r.unit_code
