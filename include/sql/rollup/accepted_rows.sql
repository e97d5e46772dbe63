{#- Macros, imported by the rollup's statements.

    latest_accepted: the rows that count for a period, one per unit. When two accepted
    files cover the same unit, the later submission counts (and within one file, the later
    row: a steward may accept both rows of a unit given twice). A row counts when no
    later one of its unit does: each row looks for one through the unit index, and the
    rows stream to whatever reads them. Ranking them with row_number() instead would sort
    and store every column of every row first, several times slower, and leave the
    statements joining a stored copy.
    `scope`: for a county's rerun, a query of the unit codes to take (county_units or
    reaching_county below); the rows are then looked up by unit code from those few codes
    rather than found among all the period's rows (on SQLite a CROSS JOIN keeps the scope
    first; PostgreSQL plans it as an inner join).
    `checked`: false counts the rows whatever their checks said (the reconciliation's
    village counts are about what was submitted), not only those the gate accepted (a
    row of a checked file, rows_accepted set, whose status is 'accepted').
    `standards`: columns to add beside each row (name -> SQL over `r`, from
    standards.standard_columns_sql), which measures may read.
    `overrides`: columns whose value is replaced (name -> SQL over `r`: a village's latest
    star rating, catalog.ratings.rated_overrides), with `columns` the table's columns.
    `rank`: for the star ratings, one row per unit of the highest rank rather than the
    latest (a pair of SQL expressions, over `r` and over `later`), from the submissions in
    `statuses`. `joins`: SQL joined beside `r` that `overrides` read (the latest ratings).
    `sub_periods`: for a form sent for shorter periods than the one rolled up (a quarter's
    ledger in its year), the bind parameters of the first and the last of them: the rows
    of every one of those periods count, one per unit and period, each with
    `latest_in_period` 1 (the unit's state at the period's end, what a `last` measure
    reads) when no later period of them has a row of its unit and the row's sender (the
    submission's unit) sent no later counted file of the form among them: a sender sends
    its whole ledger each quarter, so a plan its later ledger no longer lists stops
    counting, while a sender that missed the last quarter still counts by its latest.
    Both look-ups go through an index (the staged table's unit index, submission's
    ix_submission_unit) row by row.
    `whole_file`: for a form of many rows per unit (a responsibility list), every row of
    a unit's latest file counts, not the latest row alone. -#}
{%- macro counted_file(file, row, checked, statuses) -%}
    {%- if statuses %}
      and {{ file }}.status in ({% for st in statuses %}{% if not loop.first %}, {% endif %}'{{ st }}'{% endfor %})
    {%- else %}
      and {{ file }}.status = 'accepted'
    {%- endif %}
    {%- if checked %}
      and {{ file }}.rows_accepted is not null
      {%- if row %}
      and {{ row }}.row_status = 'accepted'
      {%- endif %}
    {%- endif %}
{%- endmacro -%}
{%- macro latest_accepted(table, period_param, scope=none, checked=true, standards=none,
                          overrides=none, columns=none, rank=none, statuses=none, joins='',
                          sub_periods=none, whole_file=false) -%}
    {%- if sub_periods %}
    {%- set own_period = 's.period between ' ~ sub_periods[0] ~ ' and ' ~ sub_periods[1] %}
    {%- set later_period = 'later_file.period = s.period' %}
    {%- else %}
    {%- set own_period = 's.period = ' ~ period_param %}
    {%- set later_period = 'later_file.period = ' ~ period_param %}
    {%- endif %}
    {%- if overrides %}
    select {% for c in columns %}{% if not loop.first %}, {% endif %}{% if c in overrides %}{{ overrides[c] }} as {{ c }}{% else %}r.{{ c }}{% endif %}{% endfor %}
    {%- else %}
    select r.*
    {%- endif %}
    {%- for name, sql in (standards or {}).items() %},
           {{ sql }} as {{ name }}
    {%- endfor %}
    {%- if sub_periods %},
           case when exists (
               -- a later file of the row's sender: its row of the unit is the later one, or it has none
               select 1
               from submission later_file
               where later_file.unit_code = s.unit_code
                 and later_file.form_code = s.form_code
                 and later_file.period > s.period
                 and later_file.period <= {{ sub_periods[1] }}
                 {{- counted_file('later_file', none, checked, statuses) }}
           ) or exists (
               select 1
               from {{ table }} later
               join submission later_file on later_file.submission_id = later.submission_id
               where later.unit_code = r.unit_code
                 and later_file.period > s.period
                 and later_file.period <= {{ sub_periods[1] }}
                 {{- counted_file('later_file', 'later', checked, statuses) }}
           ) then 0 else 1 end as latest_in_period
    {%- endif %}
    {%- if scope %}
    from ({{ scope }}) scope
    cross join {{ table }} r
    join submission s on s.submission_id = r.submission_id
    {{ joins }}
    where r.unit_code = scope.unit_code
      and {{ own_period }}
    {%- else %}
    from {{ table }} r
    join submission s on s.submission_id = r.submission_id
    {{ joins }}
    where {{ own_period }}
    {%- endif %}
      {{- counted_file('s', 'r', checked, statuses) }}
      and not exists (
          select 1
          from {{ table }} later
          join submission later_file on later_file.submission_id = later.submission_id
          where later.unit_code = r.unit_code
            and {{ later_period }}
            {{- counted_file('later_file', 'later', checked, statuses) }}
            {%- if rank %}
            and ({{ rank[1] }} > {{ rank[0] }}
                 or ({{ rank[1] }} = {{ rank[0] }}
                     and (later.submission_id > r.submission_id
                          or (later.submission_id = r.submission_id and later.row_number > r.row_number)))))
            {%- elif whole_file %}
            and later.submission_id > r.submission_id)
            {%- else %}
            and (later.submission_id > r.submission_id
                 or (later.submission_id = r.submission_id and later.row_number > r.row_number)))
            {%- endif %}
{%- endmacro -%}

{#- The units of the period's tree under :county_code. -#}
{%- macro county_units() -%}
select descendant_code as unit_code from unit_closure
where period = :period and ancestor_code = :county_code
{%- endmacro -%}

{#- The units whose previous-period rows reach the county's units: below any of them on
    the previous period's own tree (year-on-year sums), and the county's units and their
    predecessors (comparable sums, on this period's tree). -#}
{%- macro reaching_county() -%}
select t.descendant_code as unit_code from unit_closure t
where t.period = :previous_period
  and t.ancestor_code in ({{ county_units() }})
union
select u.descendant_code from unit_closure u
where u.period = :period and u.ancestor_code = :county_code
union
select p.predecessor_code from unit_predecessor p
where p.period = :period
  and p.unit_code in ({{ county_units() }})
{%- endmacro -%}
