{#- Macros of the rectification ledger's history (CONTRACT.md §6), imported by the
    statements of include/sql/ledger/ and by the rollup's columns beside a ledger row
    (catalog.ledger).

    kept_rows: every row the ledgers have kept, in the order of the history: by quarter,
    then submission, then row. A row is kept when its file was accepted (or accepted
    and later superseded by the next file of the same submitter and quarter: the state
    it reported was reported all the same) and the row passed the checks. `where`: SQL
    over `h` (the row) and `hs` (its submission) narrowing the rows (one village, the
    quarters up to one), `h`, `hs` being the aliases.

    moves: of the kept rows, with each row's previous state (`previous_state`; NULL for
    a plan's first row) and `converts` 1 where the row moves the plan into converted or
    beyond from planned or in_progress (or starts it there): the row whose `state_on` is
    the plan's conversion date while no later row of it moves again.

    day_number: a date's day number (days since 0000-03-01, proleptic Gregorian), by the
    integer arithmetic of Howard Hinnant's days_from_civil on the date's ISO text: the
    same SQL on SQLite (which keeps a date as that text) and PostgreSQL (whose date casts
    to it), where date subtraction would not be. -#}
{%- macro kept_rows(where='1 = 1') -%}
    select h.unit_code, hs.period, h.submission_id, h.row_number, h.state, h.state_on
    from stg_rectification_ledger h
    join submission hs on hs.submission_id = h.submission_id
    where hs.status in ('accepted', 'superseded')
      and hs.rows_accepted is not null
      and h.row_status = 'accepted'
      and ({{ where }})
{%- endmacro -%}
{%- macro moves(where='1 = 1') -%}
    select k.*,
           lag(k.state) over (partition by k.unit_code
                              order by k.period, k.submission_id, k.row_number) as previous_state
    from ({{ kept_rows(where) }}) k
{%- endmacro -%}
{%- macro converted_states() -%}('converted', 'consolidated', 'closed'){%- endmacro -%}
{%- macro converts(alias) -%}
    case when {{ alias }}.state in {{ converted_states() }}
          and ({{ alias }}.previous_state is null
               or {{ alias }}.previous_state in ('planned', 'in_progress'))
         then 1 else 0 end
{%- endmacro -%}
{%- macro day_number(expression) -%}
    {%- set text = 'cast(' ~ expression ~ ' as varchar(10))' %}
    {%- set y = '(cast(substr(' ~ text ~ ', 1, 4) as integer) - case when cast(substr(' ~ text ~ ', 6, 2) as integer) <= 2 then 1 else 0 end)' %}
    {%- set m = 'cast(substr(' ~ text ~ ', 6, 2) as integer)' %}
    {%- set d = 'cast(substr(' ~ text ~ ', 9, 2) as integer)' %}
    {%- set yoe = '(' ~ y ~ ' - (' ~ y ~ ' / 400) * 400)' %}
    {%- set doy = '((153 * (' ~ m ~ ' + case when ' ~ m ~ ' > 2 then -3 else 9 end) + 2) / 5 + ' ~ d ~ ' - 1)' %}
    ((({{ y }}) / 400) * 146097 + {{ yoe }} * 365 + {{ yoe }} / 4 - {{ yoe }} / 100 + {{ doy }})
{%- endmacro -%}
{#- conversions: every plan's conversion date as of each quarter it has a kept row in
    (`unit_code`, `period`, `converted_on`): the state_on of its latest row up to that
    quarter that moved it into converted or beyond. One pass over the ledgers' history
    for all plans together, which a statement joins beside its rows (`conversion_join`):
    looking each row's history up again, row by row, took about a millisecond a row. -#}
{%- macro conversions() -%}
    select c.unit_code, c.period, c.state_on as converted_on
    from (
        select q.unit_code, q.period, mv.state_on,
               row_number() over (partition by q.unit_code, q.period
                                  order by mv.period desc, mv.submission_id desc,
                                           mv.row_number desc) as latest
        from (select distinct k.unit_code, k.period from ({{ kept_rows() }}) k) q
        join ({{ moves() }}) mv
          on mv.unit_code = q.unit_code
         and mv.period <= q.period
        where {{ converts('mv') }} = 1
    ) c
    where c.latest = 1
{%- endmacro -%}
{#- conversion_join: the conversions of the plan of the ledger row `row` (of the
    submission `file`), joined beside it as `ledger_conversion`. -#}
{%- macro conversion_join(row, file) -%}
    left join ({{ conversions() }}) ledger_conversion
      on ledger_conversion.unit_code = {{ row }}.unit_code
     and ledger_conversion.period = {{ file }}.period
{%- endmacro -%}
{#- conversion_on: beside a ledger row `row` with `conversion_join` beside it, the plan's
    conversion date as of the row's quarter; NULL unless the row's own state is
    converted or beyond (a plan relapsed to in_progress is not converted). -#}
{%- macro conversion_on(row) -%}
    case when {{ row }}.state in {{ converted_states() }} then ledger_conversion.converted_on end
{%- endmacro -%}
{#- conversion_days: the days from `row`'s approved_on to its conversion date where that
    date lies in the period rolled up (:period_start .. :period_end), else NULL. -#}
{%- macro conversion_days(row) -%}
    case when {{ row }}.state in {{ converted_states() }}
          and ledger_conversion.converted_on between :period_start and :period_end
         then {{ day_number('ledger_conversion.converted_on') }} - {{ day_number(row ~ '.approved_on') }} end
{%- endmacro -%}
