-- The rows a ledger template starts from, for the villages under unit_code in the
-- period's tree: each village's row in its latest ledger before the period (quarters
-- first_quarter .. last_quarter), then the class-3 villages of the latest of the year's
-- and the previous year's village returns with no such row (their code and name alone).
{%- import 'rollup/accepted_rows.sql' as rows %}
with villages as (
    select c.descendant_code as unit_code, pv.name
    from unit_closure c
    join period_village pv on pv.period = :period and pv.unit_code = c.descendant_code
    where c.period = :period and c.ancestor_code = :unit_code
),

planned as (
    select r.*
    from (
{{ rows.latest_accepted('stg_rectification_ledger', ':period', sub_periods=(':first_quarter', ':last_quarter')) }}
    ) r
    where r.latest_in_period = 1
      and r.unit_code in (select unit_code from villages)
),

class3 as (
    select distinct a.unit_code
    from stg_village_annual a
    join submission s on s.submission_id = a.submission_id
    where s.period = (
            select max(s2.period) from submission s2
            where s2.form_code = 'village_annual' and s2.status = 'accepted'
              and s2.period in (:year, :previous_year))
      and s.status = 'accepted'
      and a.row_status = 'accepted'
      and a.org_class = '3'
      and a.unit_code in (select unit_code from villages)
      and a.unit_code not in (select unit_code from planned)
)

select * from (
select p.unit_code, coalesce(v.name, p.unit_name) as unit_name, p.problem_type, p.problem,
       p.measures, p.responsible, p.county_leader, p.first_secretary, p.proposed_on,
       p.advised_on, p.approved_on, p.deadline, p.state, p.state_on, 0 as added
from planned p
left join villages v on v.unit_code = p.unit_code
union all
select c.unit_code, v.name, null, null, null, null, null, null, null, null, null, null, null,
       null, 1
from class3 c
join villages v on v.unit_code = c.unit_code
) template_rows
order by added, unit_code
