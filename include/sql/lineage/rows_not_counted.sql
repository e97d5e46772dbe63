-- One row per staged row of one unit in the period's submissions of one form (of the
-- shorter periods lying in it, `sub_periods`: a year's ledgers), with the submission's
-- status and period: explain leaves out those the rollup counted and says why each other
-- one was not (rejected or superseded file, row with an error, a later accepted file
-- covering the same unit, a later period's row). Jinja fills in only the form's table;
-- values arrive as bind parameters.
with staged as (
    select r.*,
           s.file_name,
           s.file_sha256,
           s.status as submission_status,
           s.rows_accepted is not null as submission_checked,
           s.reason as submission_reason,
           s.period as submission_period
    from {{ table }} r
    join submission s on s.submission_id = r.submission_id
    {%- if sub_periods %}
    where s.period between {{ sub_periods[0] }} and {{ sub_periods[1] }}
    {%- else %}
    where s.period = :period
    {%- endif %}
      and r.unit_code = :unit_code
),

final as (
    select *
    from staged
)

select * from final
order by submission_period desc, submission_id desc, row_number
