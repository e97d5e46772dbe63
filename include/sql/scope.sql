{#- Macro, imported by the statements an incremental run or a county's checks scope to one
    county: `and <column> in (the units under :county_code in the period's tree)` (`where`
    for `keyword='where'`), or nothing when `scoped` is false. -#}
{%- macro in_county(column, scoped, period_param=':period', keyword='and') -%}
{%- if scoped %}
      {{ keyword }} {{ column }} in (
          select descendant_code from unit_closure
          where period = {{ period_param }} and ancestor_code = :county_code)
{%- endif -%}
{%- endmacro -%}

{#- Macro: the join that finds a unit's release part, its county (the unit itself for a
    county), as `county_part.ancestor_code`; NULL above the counties, where the part is
    ''. `code_column` is the code of a unit of levels 1-4 in the period's tree; a village's
    part is its township's. -#}
{%- macro county_part_join(code_column, county_level) -%}
    left join area_closure county_part
      on county_part.period = :period
     and county_part.descendant_code = {{ code_column }}
     and county_part.ancestor_level = {{ county_level }}
{%- endmacro -%}

{#- Macro: the units of one level in the tree of `period_param`, as `unit_code`: the
    period's villages (`village` true) or the units of levels 1-4 of `row_level`. -#}
{%- macro tree_units(row_level, village, period_param=':period') -%}
{%- if village -%}
    select unit_code from period_village
    where period = {{ period_param }}
{%- else -%}
    select descendant_code as unit_code from area_closure
    where period = {{ period_param }}
      and depth = 0
      and descendant_level = {{ row_level }}
{%- endif -%}
{%- endmacro -%}

{#- Macro: the join from a unit of `row_level` (`code_column`) to each of its ancestors
    of levels 1-4 in the tree of `period_param`, as `<tree>.ancestor_code` and
    `<tree>.ancestor_level`. A village (`village` true) reaches them through its township
    (`<tree>_village.parent_code`): its ancestors are its township's and the township
    itself. A unit of levels 1-4 is of `row_level`, or of one of `levels` where given (a
    responsibility list's: a township's, a county's or a city's). The tables themselves,
    not the view unit_closure: their indexes find each
    row's ancestors, where a join on the view reads the view whole. -#}
{%- macro join_area_ancestors(tree, code_column, row_level, village, period_param=':period',
                               levels=none) -%}
{%- if village %}
    join period_village {{ tree }}_village
      on {{ tree }}_village.period = {{ period_param }}
     and {{ tree }}_village.unit_code = {{ code_column }}
    join area_closure {{ tree }}
      on {{ tree }}.period = {{ period_param }}
     and {{ tree }}.descendant_code = {{ tree }}_village.parent_code
{%- else %}
    join area_closure {{ tree }}
      on {{ tree }}.period = {{ period_param }}
     and {{ tree }}.descendant_code = {{ code_column }}
     {%- if levels %}
     and {{ tree }}.descendant_level in ({{ levels | join(', ') }})
     {%- else %}
     and {{ tree }}.descendant_level = {{ row_level }}
     {%- endif %}
{%- endif %}
{%- endmacro -%}

{#- Macro: `from <table> v ... where ...`, the rows of fact_area or fact_village that the
    release `release_param` (a bind parameter) holds, through its parts. -#}
{%- macro release_rows(table, release_param) -%}
    from {{ table }} v
    join release_part p
      on p.release_id = {{ release_param }}
     and p.part = v.part
     and p.built_by = v.built_by
    where v.period = :period
{%- endmacro -%}

{#- Macro: `from <table> v join ...`, the rows of fact_area or fact_village that each
    period's release of `status` (current, previous) holds, through its parts; `r` is
    that release. -#}
{%- macro release_status_rows(table, status) -%}
from {{ table }} v
join release_part p
  on p.part = v.part
 and p.built_by = v.built_by
join release r
  on r.release_id = p.release_id
 and r.period = v.period
 and r.status = '{{ status }}'
{%- endmacro -%}

{#- Macro: `select county_code, unit_code ... where ...` (the WHERE left open for the
    caller's further conditions as `and county.<column> ...`): each unit of `row_level`
    in the period's tree with its county; villages (`village` true) through their
    townships, only those `expected_where` picks when given (the key-contact villages). -#}
{%- macro units_with_county(row_level, village, expected_where=none) -%}
    select county.ancestor_code as county_code,
           {{ 'v.unit_code' if village else 'county.descendant_code as unit_code' }}
    from area_closure county
    {%- if village %}
    join period_village v
      on v.period = county.period
     and v.parent_code = county.descendant_code
    {%- endif %}
    where county.period = :period
      and county.ancestor_level = 3
      {%- if not village %}
      and county.descendant_level = {{ row_level }}
      {%- endif %}
      {%- if village and expected_where %}
      and {{ expected_village('v.unit_code', expected_where) }} = 1
      {%- endif %}
{%- endmacro -%}

{#- Macro: the `approval` of a published row joined by join_place: the highest
    level whose approval covers the unit (CONTRACT.md §5), or 'none'. -#}
{%- macro approval_label() -%}
case reach.level when 1 then 'region' when 2 then 'city' when 3 then 'county' when 4 then 'township' else 'none' end
{%- endmacro -%}

{#- Macro: 1 when the village `code_column` is one a form is expected of in the tree of
    `period_param` (its `condition`, the form's expected_where over the village's tree
    columns: a key-contact village), else 0; 1 for a form without one. A subquery of its
    own, so that the condition's bare column names are the tree's. -#}
{%- macro expected_village(code_column, condition, period_param=':period') -%}
{%- if condition -%}
case when exists (
           select 1 from period_village expected_village
           where expected_village.period = {{ period_param }}
             and expected_village.unit_code = {{ code_column }}
             and ({{ condition }})) then 1 else 0 end
{%- else -%}
1
{%- endif -%}
{%- endmacro -%}

{#- Macro: the columns of a published row's place in its period's tree (joined by
    join_place): its parent and the codes and names of its ancestors down to its own
    level (a village's are its township's; NULL below a unit's level). -#}
{%- macro place_columns(village) -%}
{{ 'place_village.parent_code' if village else 'place.parent_code' }} as parent_code,
           place.region_code,
           place.region_name,
           place.city_code,
           place.city_name,
           place.county_code,
           place.county_name,
           place.township_code,
           place.township_name
{%- endmacro -%}

{#- Macro: the joins from a published row (alias v, of fact_area or, `village` true, of
    fact_village) to its place in its period's tree, `place` (period_place): a village's
    is its township's, through `place_village` (period_village); then how far sign-off
    reaches for it, `reach`, a village through the same township. A filter on an
    ancestor makes the left joins inner joins that the planner starts from, through
    period_place's index of that ancestor. A village's own row of the tree is an inner
    join: SQLite orders no table before a left join's right side, and would read every
    village of the period to find one county's (a village a rebuilt tree has left is not
    shown until the next rollup publishes without it). `level`, where given, is every
    row's level: it lets that index find the units of one level under the ancestor. -#}
{%- macro join_place(village, level=none) -%}
{%- if village %}
join period_village place_village
  on place_village.period = v.period
 and place_village.unit_code = v.unit_code
left join period_place place
  on place.period = v.period
 and place.unit_code = place_village.parent_code
left join approval_reach reach
  on reach.period = v.period
 and reach.unit_code = place_village.parent_code
{%- else %}
left join period_place place
  on place.period = v.period
 and place.unit_code = v.unit_code
 {%- if level %}
 and place.level = {{ level }}
 {%- endif %}
left join approval_reach reach
  on reach.period = v.period
 and reach.unit_code = v.unit_code
{%- endif %}
{%- endmacro -%}
