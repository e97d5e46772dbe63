-- One row per unit of levels 1-4 of the period's tree, written by the rollup that builds
-- the period's next release (built_by), with the part it belongs to (its county, or ''
-- above the counties): for every form, the
-- rows of the form's level due (its units expected, once per period of the form in the
-- period; and those units, `<form>__units`, for a form sent for shorter periods) and
-- received below the unit and the additive sums
-- of their accepted rows (the form's measures); beside them, the previous period's sums
-- that year-on-year changes compare with:
--   '<code>__previous': the previous period's rows on the previous period's own tree
--   '<code>__previous_comparable': re-aggregated on THIS period's tree, a previous row
--     counting under the village it is or the village it merged into (unit_predecessor)
-- with the number of previous rows behind each ('<form>__previous_rows', ...). Both read
-- the previous period's rows, never its release, so a period's rollup does not depend on
-- the order in which periods were published. The views compute every indicator from
-- these columns (publish/indicators.sql). Jinja fills in only the catalog's structure
-- (forms, tables, measures) and, for an incremental run, limits the units to one
-- county's subtree; values are bind parameters. With insert=false it is the query
-- alone, its columns named as fact_area's (a full rollup reads it beside the villages').
{%- import 'rollup/accepted_rows.sql' as rows %}
{%- from 'scope.sql' import county_part_join, in_county, join_area_ancestors, tree_units %}
{%- macro summed_on_tree(source, code_column, row_level, village, tree_period, measures, prefix, count_as, levels=none) -%}
    {%- if village %}
    -- the villages summed under their townships first, then the townships' sums under
    -- each ancestor: a township has a few ancestors, its villages many times as many
    -- rows, and summing every village's rows once per ancestor would read them all
    -- again for each
    select t.ancestor_code as unit_code,
           sum(township.rows_below) as {{ count_as }}
           {%- for m in measures %},
           -- rounded: summing floats in another order must not change a published digit
           round(cast(sum(township.{{ prefix }}{{ loop.index }}) as numeric), 6) as {{ prefix }}{{ loop.index }}
           {%- endfor %}
    from (
        select t_village.parent_code as township_code,
               count(*) as rows_below
               {%- for m in measures %},
               sum({{ m.expression }}) as {{ prefix }}{{ loop.index }}
               {%- endfor %}
        from {{ source }}
        join period_village t_village
          on t_village.period = {{ tree_period }}
         and t_village.unit_code = {{ source }}.{{ code_column }}
        group by t_village.parent_code
    ) township
    join area_closure t
      on t.period = {{ tree_period }}
     and t.descendant_code = township.township_code
    {%- else %}
    select t.ancestor_code as unit_code,
           count(*) as {{ count_as }}
           {%- for m in measures %},
           -- rounded: summing floats in another order must not change a published digit
           round(cast(sum({{ m.expression }}) as numeric), 6) as {{ prefix }}{{ loop.index }}
           {%- endfor %}
    from {{ source }}
    {{- join_area_ancestors('t', source ~ '.' ~ code_column, row_level, village, tree_period, levels) }}
    {%- endif %}
    {%- if scoped %}
    where t.ancestor_code in (select unit_code from units)
    {%- endif %}
    group by t.ancestor_code
{%- endmacro %}
{%- if insert | default(true) %}
insert into fact_area (
    period, built_by, part, unit_code, level
    {%- for f in forms %}, {{ f.code }}__reporting, {{ f.code }}__expected
    {%- if f.units %}, {{ f.units }}{% endif %}
    {%- for m in f.measures %}, {{ m.code }}{% endfor %}
    {%- if f.previous %}, {{ f.code }}__previous_rows{% for m in f.previous %}, {{ m.code }}__previous{% endfor %}{% endif %}
    {%- if f.comparable %}, {{ f.code }}__previous_comparable_rows{% for m in f.comparable %}, {{ m.code }}__previous_comparable{% endfor %}{% endif %}
    {%- endfor %}
)
{%- endif %}
with units as (
    select u.ancestor_code as unit_code,
           u.ancestor_level as level,
           coalesce(county_part.ancestor_code, '') as part
    from area_closure u
    {{ county_part_join('u.ancestor_code', county_level) }}
    where u.period = :period
      and u.depth = 0
      {{- in_county('u.ancestor_code', scoped) }}
)
{#- the units expected below each unit are counted once per shape of form (its row
    level, villages, villages and townships; the villages a form's expected_where picks;
    a list's several levels): forms of one shape share the count #}
{%- set expected = namespace(counted=[]) %}
{%- for f in forms %}
{%- if f.expected_as not in expected.counted %}
{%- set expected.counted = expected.counted + [f.expected_as] %},

{{ f.expected_as }} as (
    {%- if f.mixed %}
    -- rows of villages and townships (the star ratings): every township and its villages
    -- may be rated, counted under the township first
    select t.ancestor_code as unit_code, sum(1 + coalesce(below.villages, 0)) as expected_units
    from area_closure t
    left join (
        select parent_code, count(*) as villages
        from period_village
        where period = :period
          {{- in_county('parent_code', scoped) }}
        group by parent_code
    ) below
      on below.parent_code = t.descendant_code
    where t.period = :period
      and t.descendant_level = {{ f.row_level }}
    {%- elif f.village %}
    -- the villages counted under their townships first: a township's ancestors are a
    -- few rows, a village's many; only those the form is expected of (expected_where:
    -- the key-contact villages), where it says
    select t.ancestor_code as unit_code, sum(below.villages) as expected_units
    from area_closure t
    join (
        select parent_code, count(*) as villages
        from period_village
        where period = :period
          {%- if f.expected_where %}
          and ({{ f.expected_where }})
          {%- endif %}
          {{- in_county('parent_code', scoped) }}
        group by parent_code
    ) below
      on below.parent_code = t.descendant_code
    where t.period = :period
    {%- else %}
    select t.ancestor_code as unit_code, count(*) as expected_units
    from area_closure t
    where t.period = :period
      and t.descendant_level in ({{ f.levels | join(', ') }})
    {%- endif %}
      {{- in_county('t.ancestor_code', scoped) }}
    group by t.ancestor_code
)
{%- endif %},

{{ f.code }}_accepted as (
{{ rows.latest_accepted(f.table, ':period', rows.county_units() if scoped else none, standards=f.standards,
                        overrides=f.overrides, columns=f.columns, rank=f.rank, statuses=f.statuses,
                        joins=f.joins, sub_periods=f.sub_periods, whole_file=f.whole_file) }}
),

{{ f.code }}_summed as (
    {#- a form whose rows are villages and townships (the star ratings) is summed from each
        row's township (`township_code`, beside its rows): a village's, a township itself #}
{{ summed_on_tree(f.code ~ '_accepted', f.code_column, f.row_level, f.village, ':period', f.measures, 'm', 'reporting_units', f.levels) }}
)
{%- if f.previous or f.comparable %},

{{ f.code }}_previous_accepted as not materialized (
{{ rows.latest_accepted(f.table, ':previous_period', rows.reaching_county() if scoped else none) }}
)
{%- endif %}
{%- if f.previous %},

{{ f.code }}_previous as (
    -- on the previous period's own tree
{{ summed_on_tree(f.code ~ '_previous_accepted', 'unit_code', f.row_level, f.village, ':previous_period', f.previous, 'p', 'previous_rows') }}
)
{%- endif %}
{%- if f.comparable %},

{{ f.code }}_lineage as (
    select tree_unit.unit_code, tree_unit.unit_code as source_code
    from ({{ tree_units(f.row_level, f.village) }}) tree_unit
    {{- in_county('tree_unit.unit_code', scoped, keyword='where') }}
    union all
    select unit_code, predecessor_code as source_code
    from unit_predecessor
    where period = :period
      {{- in_county('unit_code', scoped) }}
),

{{ f.code }}_previous_mapped as (
    select l.unit_code as mapped_code, {{ f.code }}_previous_accepted.*
    from {{ f.code }}_previous_accepted
    join {{ f.code }}_lineage l on l.source_code = {{ f.code }}_previous_accepted.unit_code
),

{{ f.code }}_comparable as (
    -- on this period's tree
{{ summed_on_tree(f.code ~ '_previous_mapped', 'mapped_code', f.row_level, f.village, ':period', f.comparable, 'c', 'previous_rows') }}
)
{%- endif %}
{%- endfor %},

final as (
    select :period as period,
           :built_by as built_by,
           u.part,
           u.unit_code,
           u.level
           {#- named as fact_area's columns: the rows may be read apart and inserted by name #}
           {%- for f in forms %},
           coalesce({{ f.code }}_s.reporting_units, 0) as {{ f.code }}__reporting,
           {#- due once per period of the form lying in the period (`periods`, e.g. :week_count) #}
           coalesce({{ f.code }}_e.expected_units, 0){% if f.periods %} * {{ f.periods }}{% endif %} as {{ f.code }}__expected
           {%- if f.units %},
           coalesce({{ f.code }}_e.expected_units, 0) as {{ f.units }}
           {%- endif %}
           {%- for m in f.measures %},
           cast({{ f.code }}_s.m{{ loop.index }} as double precision) as {{ m.code }}
           {%- endfor %}
           {%- if f.previous %},
           coalesce({{ f.code }}_p.previous_rows, 0) as {{ f.code }}__previous_rows
           {%- for m in f.previous %},
           cast({{ f.code }}_p.p{{ loop.index }} as double precision) as {{ m.code }}__previous
           {%- endfor %}
           {%- endif %}
           {%- if f.comparable %},
           coalesce({{ f.code }}_c.previous_rows, 0) as {{ f.code }}__previous_comparable_rows
           {%- for m in f.comparable %},
           cast({{ f.code }}_c.c{{ loop.index }} as double precision) as {{ m.code }}__previous_comparable
           {%- endfor %}
           {%- endif %}
           {%- endfor %}
    from units u
    {%- for f in forms %}
    left join {{ f.expected_as }} {{ f.code }}_e on {{ f.code }}_e.unit_code = u.unit_code
    left join {{ f.code }}_summed {{ f.code }}_s on {{ f.code }}_s.unit_code = u.unit_code
    {%- if f.previous %}
    left join {{ f.code }}_previous {{ f.code }}_p on {{ f.code }}_p.unit_code = u.unit_code
    {%- endif %}
    {%- if f.comparable %}
    left join {{ f.code }}_comparable {{ f.code }}_c on {{ f.code }}_c.unit_code = u.unit_code
    {%- endif %}
    {%- endfor %}
)

select * from final
