-- One row for the unit asked about and one per unit directly below it in the period's tree
-- (depth 0 and 1 of the closure), with the name valid in the period and the published
-- fact of one indicator (null when nothing is published for the unit).
with tree as (
    select descendant_code as unit_code,
           descendant_level as level,
           depth
    from unit_closure
    where period = :period
      and ancestor_code = :unit_code
      and depth <= 1
),

named as (
    -- a village has one dim_unit row per version: take the version valid in the year
    select t.unit_code,
           t.level,
           t.depth,
           min(u.name) as name
    from tree t
    left join dim_unit u
      on u.unit_code = t.unit_code
     and (u.valid_from is null or u.valid_from <= :year)
     and (u.valid_to is null or u.valid_to >= :year)
    group by t.unit_code, t.level, t.depth
),

final as (
    select n.unit_code,
           n.name,
           n.level,
           n.depth,
           f.value,
           f.numerator,
           f.denominator,
           f.reporting_units,
           f.expected_units,
           f.flags,
           f.release_id
    from named n
    left join fact_indicator f
      on f.period = :period
     and f.unit_code = n.unit_code
     and f.indicator_code = :indicator_code
)

select * from final
order by depth, unit_code
