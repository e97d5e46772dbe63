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
