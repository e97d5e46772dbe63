-- One row per period, unit and year-on-year indicator: the change of the compared
-- indicator on the previous period's published value, each period on its own tree.
-- numerator = this period's value, denominator = the previous period's.
insert into rollup_indicator (
    period, unit_code, level, indicator_code, value, numerator, denominator,
    expected_units, reporting_units, flags, release_id
)
with yoy as (
    select indicator_code, of_indicator
    from dim_indicator
    where aggregation = 'yoy'
),

current_values as (
    select unit_code, level, indicator_code, value, expected_units, reporting_units
    from rollup_indicator
    where period = :period
),

previous_values as (
    select unit_code, indicator_code, value
    from fact_indicator
    where period = :previous_period
),

final as (
    select :period as period,
           c.unit_code,
           c.level,
           y.indicator_code,
           case
               when c.value is null or p.value is null or p.value = 0 then null
               else round(cast((c.value - p.value) * 100.0 / p.value as numeric), 9)
           end as value,
           c.value as numerator,
           p.value as denominator,
           c.expected_units,
           c.reporting_units,
           case when p.value is null then 'no_previous_period' end as flags,
           cast(null as integer) as release_id
    from yoy y
    join current_values c on c.indicator_code = y.of_indicator
    left join previous_values p on p.unit_code = c.unit_code and p.indicator_code = y.of_indicator
)

select * from final
