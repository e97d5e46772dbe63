-- One row per unit of levels 1-4 in the period's tree (written after its area_closure):
-- its level, parent and the codes and names of its ancestors of each level, itself
-- included, NULL below its level. Names are the official list's (levels 1-4 have one
-- version each).
insert into period_place (period, unit_code, level, parent_code, name,
                          region_code, region_name, city_code, city_name,
                          county_code, county_name, township_code, township_name)
with ancestors as (
    select a.descendant_code as unit_code,
           a.descendant_level as level,
           a.ancestor_level,
           a.depth,
           a.ancestor_code,
           n.name as ancestor_name
    from area_closure a
    join unit n
      on n.unit_code = a.ancestor_code
     and n.level = a.ancestor_level
    where a.period = :period
),

final as (
    select :period as period,
           unit_code,
           level,
           max(case when depth = 1 then ancestor_code end) as parent_code,
           max(case when depth = 0 then ancestor_name end) as name,
           {%- for ancestor_level, name in levels %}
           max(case when ancestor_level = {{ ancestor_level }} then ancestor_code end) as {{ name }}_code,
           max(case when ancestor_level = {{ ancestor_level }} then ancestor_name end) as {{ name }}_name
           {{- ',' if not loop.last }}
           {%- endfor %}
    from ancestors
    group by unit_code, level
)

select * from final
