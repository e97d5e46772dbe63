-- One row per official unit that has villages in the period and each of its ancestors:
-- the period's tree holds only the units its villages hang under.
insert into unit_closure (period, ancestor_code, descendant_code, depth, ancestor_level, descendant_level)
with units_in_tree as (
    select distinct ancestor_code as unit_code
    from unit_closure
    where period = :period
      and descendant_level = 5
      and ancestor_level < 5
),

final as (
    select :period as period,
           oc.ancestor_code,
           oc.descendant_code,
           oc.depth,
           oc.ancestor_level,
           oc.descendant_level
    from official_closure oc
    join units_in_tree u on u.unit_code = oc.descendant_code
)

select * from final
