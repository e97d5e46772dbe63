-- One row per county of the period's tree, for one form: the units the register
-- expects to appear in that form, those that appear in an accepted file, and those
-- whose row also passed the checks. Completeness comes from the register, not from
-- what happened to arrive. Jinja fills in the form's table and row level (village: the villages' form, with the
-- condition `expected_where` on the villages it is expected of: the key-contact villages).
{%- from 'scope.sql' import units_with_county %}
with expected as (
    {{ units_with_county(row_level, village, expected_where | default(none)) }}
),

rows_in_accepted_files as (
    select r.unit_code,
           -- passed: checked (its file's rows counted by the gate) and not held back
           max(case when s.rows_accepted is not null and r.row_status = 'accepted'
                    then 1 else 0 end) as passed
    from {{ table }} r
    join submission s on s.submission_id = r.submission_id
    where s.period = :period
      and s.status = 'accepted'
    group by r.unit_code
),

final as (
    select e.county_code,
           count(*) as expected_units,
           count(a.unit_code) as reported_units,
           coalesce(sum(a.passed), 0) as accepted_units
    from expected e
    left join rows_in_accepted_files a on a.unit_code = e.unit_code
    group by e.county_code
)

select * from final
