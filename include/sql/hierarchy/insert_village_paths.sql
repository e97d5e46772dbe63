-- One row per village valid in the period and each of its ancestors, itself included.
insert into unit_closure (period, ancestor_code, descendant_code, depth, ancestor_level, descendant_level)
with villages as (
    select unit_code, parent_code
    from unit_register
    where valid_from <= :year
      and (valid_to is null or valid_to >= :year)
),

upward as (
    select v.unit_code as descendant_code,
           oc.ancestor_code,
           oc.depth + 1 as depth,
           oc.ancestor_level
    from villages v
    join official_closure oc on oc.descendant_code = v.parent_code
),

itself as (
    select unit_code as descendant_code, unit_code as ancestor_code, 0 as depth, 5 as ancestor_level
    from villages
),

final as (
    select :period as period, ancestor_code, descendant_code, depth, ancestor_level, 5 as descendant_level
    from upward
    union all
    select :period as period, ancestor_code, descendant_code, depth, ancestor_level, 5 as descendant_level
    from itself
)

select * from final
