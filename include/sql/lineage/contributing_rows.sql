-- One row per staged row that the rollup counted for the unit asked about: for each unit of the
-- form's row levels below it (itself included), the accepted row of the latest accepted
-- submission (every row of it, `whole_file`: a responsibility list), picked exactly as
-- rollup/accepted_rows.sql picks it, with what the row adds to the indicator's numerator
-- and denominator, and the totals over all counted rows (before the limit). For a form
-- sent for shorter periods than the one asked about (`sub_periods`, the bind parameters
-- of the first and last of them: a year's ledgers and weekly reports), the rows of every
-- one of those periods, one per unit and period; with `latest` only each unit's row of
-- its latest period, if its sender sent no later file (a `last` indicator: the state at
-- the period's end; a plan its sender's later ledger no longer lists has none). Jinja fills in
-- only what the catalog declares (the form's table and row levels, the measures'
-- expressions); values arrive as bind parameters.
with ranked as (
    -- when two accepted files cover the same unit, the later submission counts (of the
    -- star ratings, the highest stage: `rank`); a village's stars and class are its latest
    -- rating's (`overrides`)
    {%- if overrides %}
    select {% for c in columns %}{% if c in overrides %}{{ overrides[c] }} as {{ c }}{% else %}r.{{ c }}{% endif %},
           {% endfor %}
    {%- else %}
    select r.*,
    {%- endif %}
           {%- for name, sql in (standards or {}).items() %}
           {{ sql }} as {{ name }},
           {%- endfor %}
           s.file_name,
           s.file_sha256,
           s.period as submission_period,
           {%- if sub_periods %}
           -- the latest period of the period's files its sender sent (accepted_rows.sql:
           -- a plan the sender's later ledger no longer lists stops counting)
           (select max(later_file.period)
            from submission later_file
            where later_file.unit_code = s.unit_code
              and later_file.form_code = s.form_code
              and later_file.period between {{ sub_periods[0] }} and {{ sub_periods[1] }}
              and later_file.status in ({% for st in statuses %}{% if not loop.first %}, {% endif %}'{{ st }}'{% endfor %})
              and later_file.rows_accepted is not null) as sender_last_period,
           {%- endif %}
           {%- if whole_file %}
           -- every row of the unit's latest file of the period
           rank() over (
               partition by r.unit_code, s.period
               order by r.submission_id desc
           ) as rank_in_unit
           {%- else %}
           row_number() over (
               partition by r.unit_code, s.period
               order by {% if rank %}{{ rank }} desc, {% endif %}r.submission_id desc, r.row_number desc
           ) as rank_in_unit
           {%- endif %}
    from {{ table }} r
    -- the closure table itself, not a CTE: its primary key finds each row's place
    join unit_closure t
      on t.period = :period
     and t.ancestor_code = :unit_code
     and t.descendant_code = r.unit_code
     and t.descendant_level in ({{ levels | join(', ') }})
    join submission s on s.submission_id = r.submission_id
    {{ joins }}
    {%- if sub_periods %}
    where s.period between {{ sub_periods[0] }} and {{ sub_periods[1] }}
    {%- else %}
    where s.period = :period
    {%- endif %}
      and s.status in ({% for st in statuses %}{% if not loop.first %}, {% endif %}'{{ st }}'{% endfor %})
      and s.rows_accepted is not null
      and r.row_status = 'accepted'
),

latest as (
    -- 1 on a unit's rows of its latest period with rows, sent in their sender's latest
    -- file of the period (accepted_rows.sql's latest_in_period)
    select ranked.*,
           case when submission_period = max(submission_period) over (partition by unit_code)
                {%- if sub_periods %}
                 and submission_period = sender_last_period
                {%- endif %}
                then 1 else 0 end as latest_in_period
    from ranked
    where rank_in_unit = 1
),

counted as (
    select * from latest
    {%- if latest %}
    where latest_in_period = 1
    {%- endif %}
),

contributions as (
    select counted.*,
           1.0 * ({{ numerator }}) as numerator_contribution,
           {% if denominator -%}
           1.0 * ({{ denominator }}) as denominator_contribution
           {%- else -%}
           cast(null as float) as denominator_contribution
           {%- endif %}
    from counted
),

final as (
    select c.*,
           -- the register's name valid in the year (a village has one row per version)
           (select min(u.name)
            from dim_unit u
            where u.unit_code = c.unit_code
              and (u.valid_from is null or u.valid_from <= :year)
              and (u.valid_to is null or u.valid_to >= :year)) as register_name,
           count(*) over () as total_rows,
           sum(c.numerator_contribution) over () as numerator_total,
           sum(c.denominator_contribution) over () as denominator_total
    from contributions c
)

select * from final
-- rows that move the number first: the class-3 villages of a count, say
order by case when numerator_contribution <> 0 then 0 else 1 end, unit_code, submission_period,
         submission_id, row_number
limit :limit
