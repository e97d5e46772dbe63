-- One row per staged row that the rollup counted for the unit asked about: for each unit of the
-- form's row level below it (itself included), the accepted row of the latest accepted
-- submission, picked exactly as rollup/accepted_rows.sql picks it, with what the row adds
-- to the indicator's numerator and denominator, and the totals over all counted rows
-- (before the limit). Jinja fills in only what the catalog declares (the form's table
-- and row level, the measures' expressions); values arrive as bind parameters.
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
           row_number() over (
               partition by r.unit_code
               order by {% if rank %}{{ rank }} desc, {% endif %}r.submission_id desc, r.row_number desc
           ) as rank_in_unit
    from {{ table }} r
    -- the closure table itself, not a CTE: its primary key finds each row's place
    join unit_closure t
      on t.period = :period
     and t.ancestor_code = :unit_code
     and t.descendant_code = r.unit_code
     and t.descendant_level in ({{ levels | join(', ') }})
    join submission s on s.submission_id = r.submission_id
    {{ joins }}
    where s.period = :period
      and s.status in ({% for st in statuses %}{% if not loop.first %}, {% endif %}'{{ st }}'{% endfor %})
      and s.rows_accepted is not null
      and r.row_status = 'accepted'
),

counted as (
    select * from ranked where rank_in_unit = 1
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
order by case when numerator_contribution <> 0 then 0 else 1 end, unit_code
limit :limit
