-- One row per unit and period of one level, one column per indicator published at that
-- level: the wide view a BI user points at without joins, computed from the units' wide
-- rows of each period's current release as fact_indicator computes them (NULL where the
-- unit has no units of the indicator's form below it), the unit's place in the period's
-- tree (CONTRACT.md §2: level, parent, the codes and names of its region, city, county
-- and township, NULL below its level; the same columns in every level's view), and how
-- far sign-off reaches for the unit (`approval`: none, township, county, city, region).
-- No grouping over the units inside: a filter on an ancestor reaches the rows under it
-- through period_place's indexes. Jinja fills in the level, its table and the catalog's
-- indicators.
{%- import 'publish/indicators.sql' as ind %}
{%- from 'scope.sql' import release_status_rows, join_place, place_columns, approval_label %}
{%- set village = level == village_level %}
create view v_{{ level_name }} as
with final as (
    select v.period,
           v.unit_code,
           {{ 'place_village.name' if village else 'place.name' }} as unit_name,
           v.level,
           {{ place_columns(village) }},
           {{ approval_label() }} as approval
           {%- for i in indicators %},
           case when v.{{ i.expected }} > 0 then {{ ind.value(i, integer_columns) }} end as {{ i.code }}
           {%- endfor %}
    {{ release_status_rows(table, 'current') }}
    {{ join_place(village, level) }}
    where v.level = {{ level }}
)

select * from final
