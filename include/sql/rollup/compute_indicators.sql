-- One row per period, unit of levels 1-4 and indicator (all but year-on-year changes): each value
-- computed from summed measures, never from lower-level values. Ratios and weighted
-- means are Σ numerator / Σ denominator × factor; a zero denominator gives NULL.
insert into rollup_indicator (
    period, unit_code, level, indicator_code, value, numerator, denominator,
    expected_units, reporting_units, flags, release_id
)
with indicators as (
    select indicator_code, aggregation, from_level, numerator_measure, denominator_measure, factor
    from dim_indicator
    where aggregation not in ('yoy', 'yoy_comparable')
),

units as (
    select ancestor_code as unit_code, ancestor_level as level
    from unit_closure
    where period = :period
      and depth = 0
      and ancestor_level <= {{ area_level }}
      {%- if scoped %}
      -- an incremental run: the county's subtree and its ancestors
      and (ancestor_code in (
              select descendant_code from unit_closure
              where period = :period and ancestor_code = :county_code)
           or ancestor_code in (
              select ancestor_code from unit_closure
              where period = :period and descendant_code = :county_code))
      {%- endif %}
),

joined as (
    select u.unit_code,
           u.level,
           i.indicator_code,
           i.aggregation,
           i.denominator_measure,
           i.factor,
           n.value as numerator_value,
           d.value as denominator_value,
           n.expected_units,
           n.reporting_units
    from indicators i
    join units u on u.level <= i.from_level
    -- rollup_measure itself, not a CTE: its primary key finds each measure row
    join rollup_measure n
      on n.period = :period
     and n.unit_code = u.unit_code
     and n.measure_code = i.numerator_measure
    left join rollup_measure d
      on d.period = :period
     and d.unit_code = u.unit_code
     and d.measure_code = i.denominator_measure
),

final as (
    select :period as period,
           unit_code,
           level,
           indicator_code,
           case
               when aggregation <> 'reporting_rate' and reporting_units = 0 then null
               when denominator_measure is null then round(cast(numerator_value as numeric), 9)
               when denominator_value is null or denominator_value = 0 then null
               else round(cast(numerator_value * factor / denominator_value as numeric), 9)
           end as value,
           case when denominator_measure is null then null
                else round(cast(numerator_value as numeric), 9) end as numerator,
           case when denominator_measure is null then null
                else round(cast(denominator_value as numeric), 9) end as denominator,
           expected_units,
           reporting_units,
           cast(null as text) as flags,
           cast(null as integer) as release_id
    from joined
)

select * from final
