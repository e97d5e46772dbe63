-- One row per staged row of one unit in the period's submissions of one form (of the
-- shorter periods lying in it, `sub_periods`: a year's ledgers), with the submission's
-- status and period: explain leaves out those the rollup counted and says why each other
-- one was not (rejected or superseded file, row with an error, a later accepted file
-- covering the same unit, a later period's row, a later file of its sender no longer
-- listing the unit). Jinja fills in only the form's table and the counted statuses;
-- values arrive as bind parameters.
with staged as (
    select r.*,
           s.file_name,
           s.file_sha256,
           s.status as submission_status,
           s.rows_accepted is not null as submission_checked,
           s.reason as submission_reason,
           s.period as submission_period,
           s.unit_code as sender_code
           {%- if sub_periods %},
           -- the latest period of the period's counted files its sender sent
           -- (contributing_rows.sql's sender_last_period)
           (select max(later_file.period)
            from submission later_file
            where later_file.unit_code = s.unit_code
              and later_file.form_code = s.form_code
              and later_file.period between {{ sub_periods[0] }} and {{ sub_periods[1] }}
              and later_file.status in ({% for st in statuses %}{% if not loop.first %}, {% endif %}'{{ st }}'{% endfor %})
              and later_file.rows_accepted is not null) as sender_last_period
           {%- endif %}
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
