{#- Macro, imported by the statements an incremental run or a county's checks scope to one
    county: `and <column> in (the units under :county_code in the period's tree)`, or
    nothing when `scoped` is false. -#}
{%- macro in_county(column, scoped, period_param=':period') -%}
{%- if scoped %}
      and {{ column }} in (
          select descendant_code from unit_closure
          where period = {{ period_param }} and ancestor_code = :county_code)
{%- endif -%}
{%- endmacro -%}

{#- Macro: the join that finds a unit's release part, its county (the unit itself for a
    county), as `county_part.ancestor_code`; NULL above the counties, where the part is
    ''. `code_column` is the unit's code in the period's tree. -#}
{%- macro county_part_join(code_column, county_level) -%}
    left join unit_closure county_part
      on county_part.period = :period
     and county_part.descendant_code = {{ code_column }}
     and county_part.ancestor_level = {{ county_level }}
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
