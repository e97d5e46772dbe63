-- The audit before publishing: the release being built (its parts' rows) must have one wide
-- row per unit of levels 1-4 and per village of the period's tree; and how many rows of
-- fact_indicator it will publish (a unit has an indicator when its level is at most the indicator's
-- and units of the indicator's form are expected below it; see create_fact_view.sql).
-- Jinja fills in the catalog's indicators.
{%- from 'scope.sql' import release_rows %}
with tree as (
    select (select count(*) from area_closure where period = :period and depth = 0) as expected_areas,
           (select count(*) from period_village where period = :period) as expected_villages
),

areas as (
    select count(*) as staged_areas,
           coalesce(sum(0
           {%- for i in indicators %}
               + case when {{ i.expected }} > 0 and level <= {{ i.from_level }} then 1 else 0 end
           {%- endfor %}
           ), 0) as area_facts
    {{ release_rows('fact_area', ':release_id') }}
),

villages as (
    -- a village has the indicators of each form of villages rolled up for the period
    select count(*) as staged_villages
           {%- for column in village_expected %},
           coalesce(sum(case when {{ column }} > 0 then 1 else 0 end), 0) as {{ column }}
           {%- endfor %}
    {{ release_rows('fact_village', ':release_id') }}
),

final as (
    select tree.expected_areas, tree.expected_villages, areas.staged_areas,
           areas.area_facts, villages.*
    from tree
    cross join areas
    cross join villages
)

select * from final
