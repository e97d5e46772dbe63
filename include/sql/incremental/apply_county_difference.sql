-- An incremental run, last step: every ancestor of the county takes the county's change.
-- Measures are additive sums, so ancestor = ancestor − county before (the current
-- release's row) + county after (the recomputed row, written by this rollup). A sum with no row left behind it
-- is NULL, as a full rollup leaves it; counts are never NULL. Jinja fills in the wide
-- row's columns: counts (units reporting and expected, previous rows), and each measure
-- with the count that says whether rows are behind it.
{%- macro change(column) -%}
coalesce((select n.{{ column }} from fact_area n
          where n.period = :period and n.built_by = :built_by and n.unit_code = :county_code), 0)
- coalesce((select b.{{ column }} from fact_area b
            join release_part p
              on p.release_id = :current_release_id
             and p.part = b.part
             and p.built_by = b.built_by
            where b.period = :period and b.unit_code = :county_code), 0)
{%- endmacro %}
update fact_area
set
{%- for column in counts %}
    {{ column }} = coalesce({{ column }}, 0) + {{ change(column) }},
{%- endfor %}
{%- for column, count in measures %}
    {{ column }} = case
        when coalesce({{ count }}, 0) + {{ change(count) }} = 0 then null
        -- rounded as the sums are (area_facts.sql), so a full run gives the same digits
        else round(cast(coalesce({{ column }}, 0) + {{ change(column) }} as numeric), 6)
    end{{ ',' if not loop.last }}
{%- endfor %}
where period = :period
  and built_by = :built_by
  and unit_code in (
      select ancestor_code from unit_closure
      where period = :period and descendant_code = :county_code and depth > 0
  )
