-- One row per staged row of one unit in the period's submissions of one form that
-- the rollup did not count (rejected or superseded file, row with an error, or a later
-- accepted file covering the same unit), with the submission's status to say why.
-- Jinja fills in only the form's table; values arrive as bind parameters.
with staged as (
    select r.*,
           s.file_name,
           s.file_sha256,
           s.status as submission_status,
           s.rows_accepted is not null as submission_checked,
           s.reason as submission_reason
    from {{ table }} r
    join submission s on s.submission_id = r.submission_id
    where s.period = :period
      and r.unit_code = :unit_code
),

final as (
    select *
    from staged
    where not (submission_id = :counted_submission_id and row_number = :counted_row_number)
)

select * from final
order by submission_id desc, row_number
