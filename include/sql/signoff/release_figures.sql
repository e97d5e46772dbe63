-- Every published figure of one release in the subtree of one unit (the period's tree):
-- what an approver signed, to compare with what is current now. The same formulas as
-- the view fact_indicator (publish/indicators.sql), over the rows the release's parts
-- name. Jinja fills in the two tables and the catalog's indicators.
{%- import 'publish/indicators.sql' as ind %}
{%- from 'scope.sql' import release_rows %}
{%- macro indicator_rows(i, table) -%}
select v.unit_code,
       cast('{{ i.code }}' as varchar(60)) as indicator_code,
       {{ ind.value(i, integer_columns) }} as value
{{ release_rows(table, ':release_id') }}
  and v.unit_code in (
      select descendant_code from unit_closure
      where period = :period
        and ancestor_code = :unit_code)
{%- endmacro %}
{%- for i in indicators %}
{{ indicator_rows(i, area_table) }}
  and v.{{ i.expected }} > 0
  and v.level <= {{ i.from_level }}
union all
{%- endfor %}
{%- for i in indicators if i.from_level == village_level %}
{{ indicator_rows(i, village_table) }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
