-- One row per unit the register expects in one form that no accepted file of the period
-- reports: who has not submitted. Jinja fills in the form's table and row level (village: the villages' form, with the
-- condition `expected_where` on the villages it is expected of: the key-contact villages) and, to
-- check one county alone (county_only), limits the rows read to that county's.
{%- from 'scope.sql' import units_with_county %}
with expected as (
    {{ units_with_county(row_level, village, expected_where | default(none)) }}
      {%- if county_only is defined and county_only %}
      and county.ancestor_code = :county_code
      {%- else %}
      and county.ancestor_code = coalesce(:county_code, county.ancestor_code)
      {%- endif %}
),

reported as (
    select distinct r.unit_code
    from {{ table }} r
    join submission s on s.submission_id = r.submission_id
    where s.period = :period
      and s.status = 'accepted'
      {%- if county_only is defined and county_only %}
      and r.unit_code in (select unit_code from expected)
      {%- endif %}
),

final as (
    select e.county_code, e.unit_code
    from expected e
    left join reported r on r.unit_code = e.unit_code
    where r.unit_code is null
)

select * from final order by county_code, unit_code
