-- The audit before the swap: how many rows the period's rollup must have and has.
-- Levels 1-4: one per unit of the period's tree and indicator published at its level,
-- where the unit has units of the indicator's form below it. Villages: one wide row per
-- village of the tree.
with units as (
    select ancestor_code as unit_code, ancestor_level as level
    from unit_closure
    where period = :period
      and depth = 0
      and ancestor_level <= {{ area_level }}
),

unit_forms as (
    select distinct ancestor_code as unit_code, descendant_level as row_level
    from unit_closure
    where period = :period
      and ancestor_level <= {{ area_level }}
),

expected as (
    select count(*) as expected_rows
    from units u
    join dim_indicator i on u.level <= i.from_level
    join unit_forms f on f.unit_code = u.unit_code and f.row_level = i.from_level
),

staged as (
    select count(*) as staged_rows
    from rollup_indicator
    where period = :period
),

expected_villages as (
    select count(*) as expected_villages
    from unit_closure
    where period = :period
      and depth = 0
      and descendant_level = {{ village_level }}
),

staged_villages as (
    select count(*) as staged_villages
    from rollup_village
    where period = :period
),

final as (
    select expected.expected_rows, staged.staged_rows,
           expected_villages.expected_villages, staged_villages.staged_villages
    from expected
    cross join staged
    cross join expected_villages
    cross join staged_villages
)

select * from final
