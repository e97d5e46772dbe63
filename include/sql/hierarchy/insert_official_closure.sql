-- Every official unit (levels 1-4, just loaded into unit) under itself and under
-- each official unit above it, from the chain codes its row holds: one statement
-- instead of ~150 k pairs built in Python. A level may be missing from a chain (a county
-- directly under its region has no city), so the depth counts the chain's units between
-- the two rather than subtracting levels.
insert into official_closure (ancestor_code, descendant_code, depth, ancestor_level, descendant_level)
with units as (
    select unit_code, level, region_code, city_code, county_code
    from unit
    where level < 5
),

pairs as (
    select unit_code as ancestor_code, unit_code as descendant_code, 0 as depth,
           level as ancestor_level, level as descendant_level
    from units
    union all
    select region_code, unit_code,
           1 + case when level > 2 and city_code is not null then 1 else 0 end
             + case when level > 3 and county_code is not null then 1 else 0 end,
           1, level
    from units
    where level > 1 and region_code is not null
    union all
    select city_code, unit_code,
           1 + case when level > 3 and county_code is not null then 1 else 0 end,
           2, level
    from units
    where level > 2 and city_code is not null
    union all
    select county_code, unit_code, 1, 3, level
    from units
    where level > 3 and county_code is not null
)

select * from pairs
