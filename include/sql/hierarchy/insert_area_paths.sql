-- One row per official unit that has villages in the period and each of its ancestors:
-- the period's tree holds only the units its villages hang under. Found from the
-- villages' townships, not by reading back the village paths just written (two million
-- rows at national scale).
insert into area_closure (period, ancestor_code, descendant_code, depth, ancestor_level, descendant_level)
with townships as (
    select distinct parent_code as unit_code
    from unit_register
    where valid_from <= :year
      and (valid_to is null or valid_to >= :year)
),

units_in_tree as (
    select distinct oc.ancestor_code as unit_code
    from official_closure oc
    join townships t on t.unit_code = oc.descendant_code
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
