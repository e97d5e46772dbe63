-- One row per unit with accepted {{ table }} rows in the earlier periods (the bind parameters
-- earlier_1 to earlier_{{ earlier | length }}), those of one county's units when `scoped`:
-- for each field Jinja lists (`fields`), how many earlier periods gave it a value, and the
-- least and the greatest of those values; and the first and last of those periods.
-- What the outlier check of checks/outliers.py compares this period's value with. A row
-- counts when the gate accepted it (a checked file's accepted row): the values people
-- published. A unit given twice in one period (two accepted files) counts that period
-- once, with both its values inside its least and greatest: no per-unit search for the
-- later row, one grouped pass over the earlier rows instead.
{%- from 'scope.sql' import in_county %}
with earlier as (
    select r.unit_code, s.period
           {%- for field in fields %}, r.{{ field }}{% endfor %}
    from {{ table }} r
    join submission s on s.submission_id = r.submission_id
    where s.period in ({% for p in earlier %}:earlier_{{ loop.index }}{{ ", " if not loop.last }}{% endfor %})
      and s.status = 'accepted'
      and s.rows_accepted is not null
      and r.row_status = 'accepted'
      {{- in_county('r.unit_code', scoped) }}
),

final as (
    select unit_code,
           min(period) as first_period,
           max(period) as last_period
           {%- for field in fields %},
           count(distinct case when {{ field }} is not null then period end) as {{ field }}__n,
           min({{ field }}) as {{ field }}__min,
           max({{ field }}) as {{ field }}__max
           {%- endfor %}
    from earlier
    group by unit_code
)

select * from final
