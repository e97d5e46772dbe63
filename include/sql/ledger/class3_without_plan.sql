-- The class-3 villages of the year's village returns (the rows the rollup counts) that no
-- ledger of the year's quarters (quarter_first .. quarter_last) has a checked row of:
-- the villages whose rectification plan has not been sent, with their county. With a
-- county_code, that county's alone.
{%- import 'rollup/accepted_rows.sql' as rows %}
select county.ancestor_code as county_code, v.unit_code
from (
{{ rows.latest_accepted("stg_village_annual", ":period", checked=false) }}
) v
join period_village pv on pv.period = :period and pv.unit_code = v.unit_code
join area_closure county
  on county.period = :period
 and county.descendant_code = pv.parent_code
 and county.ancestor_level = {{ county_level }}
where v.org_class = '3'
  and county.ancestor_code = coalesce(:county_code, county.ancestor_code)
  and not exists (
      select 1
      from stg_rectification_ledger l
      join submission ls on ls.submission_id = l.submission_id
      where l.unit_code = v.unit_code
        and ls.period between :quarter_first and :quarter_last
        and ls.status = 'accepted'
        and l.row_status <> 'error')
order by county.ancestor_code, v.unit_code
