-- The published grain, one row per period, unit and indicator for every unit of every
-- level, computed from the units' wide rows of the period's {{ status }} release (for
-- each part, the rows of the rollup release_part names): one branch per indicator over levels 1-4 (a unit has the indicator when its
-- level is at most the indicator's and units of the indicator's form are expected below
-- it) and one per village indicator over the villages (those of the forms rolled up for
-- the period: a quarter has no annual return's figures). `flags` says how far sign-off
-- reaches (`approval=none`, `township`, … `region`), then any other flag after a `;`.
-- After the contract's columns, the unit's place in the period's tree as in the wide
-- views (parent, the codes and names of its ancestors), so that BI filters it by any
-- ancestor without a join. BI reads it like a table. Jinja
-- fills in the view's name, the release status, the two tables and the catalog's
-- indicators.
{%- import 'publish/indicators.sql' as ind %}
{%- from 'scope.sql' import release_status_rows, join_place, place_columns, approval_label %}
{%- macro indicator_rows(i, table) -%}
select v.period,
       v.unit_code,
       {#- a constant for the villages, so that a filter on another level leaves their
           branches out when the query is planned rather than scanning them #}
       {{ village_level if table == village_table else 'v.level' }} as level,
       cast('{{ i.code }}' as varchar(60)) as indicator_code,
       {{ ind.value(i, integer_columns) }} as value,
       {{ ind.numerator(i, integer_columns) }} as numerator,
       {{ ind.denominator(i, integer_columns) }} as denominator,
       v.{{ i.expected }} as expected_units,
       v.{{ i.reporting }} as reporting_units,
       'approval=' || {{ approval_label() }} || coalesce(';' || {{ ind.flags(i) }}, '') as flags,
       r.release_id,
       {{ place_columns(table == village_table) }}
{{ release_status_rows(table, status) }}
{{ join_place(table == village_table) }}
{%- endmacro %}
create view {{ view }} as
{%- for i in indicators %}
{{ indicator_rows(i, area_table) }}
where v.{{ i.expected }} > 0
  and v.level <= {{ i.from_level }}
union all
{%- endfor %}
{%- for i in indicators if i.from_level == village_level %}
{{ indicator_rows(i, village_table) }}
where v.{{ i.expected }} > 0
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
