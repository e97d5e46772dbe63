{#- Macro: the units an approval pass looks at, as `unit_code`: every unit of :level in the
    period's tree (`everywhere`), or those of :level in the subtree of :within (the unit
    itself when :level is its own). -#}
{%- macro approval_candidates(everywhere) -%}
    select descendant_code as unit_code
    from area_closure
    where period = :period
      and descendant_level = :level
    {%- if everywhere %}
      and depth = 0
    {%- else %}
      and ancestor_code = :within
    {%- endif %}
{%- endmacro -%}
