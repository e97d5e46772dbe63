-- One row per village valid in the period, written by the rollup that builds the
-- period's next release (built_by), with its county as its part: the village's
-- measures, from its own accepted row (none: not reporting, measures NULL), rounded as
-- area_facts.sql rounds its sums so that a village and a one-village township publish
-- the same digits. Beside them, the previous period's
-- values that year-on-year changes compare with, as area_facts.sql sums them: on the
-- previous period's own tree ('<code>__previous') and through the register's
-- predecessors on this period's tree ('<code>__previous_comparable').
-- Jinja fills in the form's table, measures and columns, and the other forms of
-- villages rolled up with it (`also`: their rows are written in by
-- village_form_facts.sql; each due as village_rows.sql says); values are bind parameters.
{%- import 'rollup/accepted_rows.sql' as rows %}
{%- from 'scope.sql' import county_part_join, in_county, tree_units %}
{#- whether each village is one a form of `also` is expected of (its expected_where, on
    the village's own period_village row, read once beside its row, not looked up again) #}
{%- macro expected_flags(forms) -%}
{%- for f in forms if f.expected_where %}, case when ({{ f.expected_where }}) then 1 else 0 end as {{ f.code }}__expected_here{% endfor %}
{%- endmacro %}
{%- macro village_expected(f) -%}
{%- if f.expected_where %}v.{{ f.code }}__expected_here{% else %}1{% endif %}
{%- endmacro %}
insert into fact_village (
    period, built_by, part, unit_code, level, {{ form }}__reporting, {{ form }}__expected
    {%- for m in measures %}, {{ m.code }}{% endfor %}
    {%- if previous %}, {{ form }}__previous_rows{% for m in previous %}, {{ m.code }}__previous{% endfor %}{% endif %}
    {%- if comparable %}, {{ form }}__previous_comparable_rows{% for m in comparable %}, {{ m.code }}__previous_comparable{% endfor %}{% endif %}
    {%- for f in also %}, {{ f.code }}__reporting, {{ f.code }}__expected{% if f.units %}, {{ f.units }}{% endif %}{% endfor %}
)
with accepted as (
{{ rows.latest_accepted(table, ':period', rows.county_units() if scoped else none, standards=standards,
                        overrides=overrides, columns=columns, joins=joins) }}
),

own as (
    -- the measure expressions name the form's columns, so they see its row alone. A whole
    -- number is not rounded: it needs none, and SQLite's round() of every value is slow
    select unit_code
           {%- for m in measures %},
           {% if m.whole %}{{ m.expression }}{% else %}round(cast({{ m.expression }} as numeric), 6){% endif %} as m{{ loop.index }}
           {%- endfor %}
    from accepted
),

villages as (
    -- the villages with a row that counts, reached from their rows: the rows stream
    -- through, where joining them to the villages would store all of them first
    select o.unit_code, u.parent_code, 1 as reporting
           {%- for m in measures %}, o.m{{ loop.index }}{% endfor %}
           {{- expected_flags(also) }}
    from own o
    join period_village u
      on u.period = :period
     and u.unit_code = o.unit_code
    union all
    -- and those without one: not reporting, measures NULL
    select u.unit_code, u.parent_code, 0 as reporting
           {%- for m in measures %}, null{% endfor %}
           {{- expected_flags(also) }}
    from period_village u
    where u.period = :period
      {{- in_county('u.parent_code', scoped) }}
      and not exists (
          select 1
          from {{ table }} r
          join submission s on s.submission_id = r.submission_id
          where r.unit_code = u.unit_code
            and s.period = :period
            and s.status = 'accepted'
            and s.rows_accepted is not null
            and r.row_status = 'accepted')
),

previous_accepted as not materialized (
{{ rows.latest_accepted(table, ':previous_period', rows.reaching_county() if scoped else none) }}
)
{%- if previous %},

previous_own as (
    -- the previous period's row of a village valid in the previous period. Grouped,
    -- though a unit has one row there (max() of one value is the value): SQLite then
    -- indexes the result for the join below instead of scanning it once per village
    -- (which turns seconds into minutes)
    select unit_code,
           count(*) as previous_rows
           {%- for m in previous %},
           max(round(cast({{ m.expression }} as numeric), 6)) as p{{ loop.index }}
           {%- endfor %}
    from previous_accepted
    where unit_code in ({{ tree_units(village_level, true, ':previous_period') }})
    group by unit_code
)
{%- endif %}
{%- if comparable %},

lineage as (
    -- a village's previous rows: its own and those of the villages that merged into it
    select tree_unit.unit_code, tree_unit.unit_code as source_code
    from ({{ tree_units(village_level, true) }}) tree_unit
    {{- in_county('tree_unit.unit_code', scoped, keyword='where') }}
    union all
    select unit_code, predecessor_code as source_code
    from unit_predecessor
    where period = :period
      {{- in_county('unit_code', scoped) }}
),

previous_mapped as (
    select l.unit_code as mapped_code, previous_accepted.*
    from previous_accepted
    join lineage l on l.source_code = previous_accepted.unit_code
),

previous_comparable as (
    select mapped_code as unit_code,
           count(*) as previous_rows
           {%- for m in comparable %},
           -- rounded: summing floats in another order must not change a published digit
           round(cast(sum({{ m.expression }}) as numeric), 6) as c{{ loop.index }}
           {%- endfor %}
    from previous_mapped
    group by mapped_code
)
{%- endif %},

final as (
    select :period as period,
           :built_by as built_by,
           coalesce(county_part.ancestor_code, '') as part,
           v.unit_code,
           {{ village_level }} as level,
           v.reporting,
           1 as expected
           {#- the measures as floats in both warehouses (SQLite would store a whole number as an
               integer); by a cast, since `1.0 *` goes through PostgreSQL's slow numeric #}
           {%- for m in measures %},
           cast(v.m{{ loop.index }} as double precision) as m{{ loop.index }}
           {%- endfor %}
           {%- if previous %},
           coalesce(po.previous_rows, 0)
           {%- for m in previous %},
           cast(po.p{{ loop.index }} as double precision) as p{{ loop.index }}
           {%- endfor %}
           {%- endif %}
           {%- if comparable %},
           coalesce(pc.previous_rows, 0)
           {%- for m in comparable %},
           cast(pc.c{{ loop.index }} as double precision) as c{{ loop.index }}
           {%- endfor %}
           {%- endif %}
           {#- the other forms of villages: none reporting until village_form_facts.sql; due
               once per period of the form where the form is expected of the village #}
           {%- for f in also %},
           0 as {{ f.code }}__reporting,
           {{ village_expected(f) }}{% if f.periods %} * {{ f.periods }}{% endif %} as {{ f.code }}__expected
           {%- if f.units %},
           {{ village_expected(f) }} as {{ f.units }}
           {%- endif %}
           {%- endfor %}
    from villages v
    {{ county_part_join('v.parent_code', county_level) }}
    {%- if previous %}
    left join previous_own po on po.unit_code = v.unit_code
    {%- endif %}
    {%- if comparable %}
    left join previous_comparable pc on pc.unit_code = v.unit_code
    {%- endif %}
)

select * from final
