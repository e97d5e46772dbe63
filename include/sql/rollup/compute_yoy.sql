-- One row per period, unit and year-on-year indicator of one aggregation, from this
-- period's value and the previous period's summed by sum_previous.sql:
--   yoy:            the previous period on its own tree ('<of>__previous')
--   yoy_comparable: the previous period on this period's tree ('<of>__previous_comparable'),
--                   so a county that absorbed villages shows no growth it did not have.
-- numerator = this period's value, denominator = the previous period's.
insert into rollup_indicator (
    period, unit_code, level, indicator_code, value, numerator, denominator,
    expected_units, reporting_units, flags, release_id
)
with yoy as (
    select indicator_code, of_indicator
    from dim_indicator
    where aggregation = '{{ aggregation }}'
),

current_values as (
    select unit_code, level, indicator_code, value, expected_units, reporting_units
    from rollup_indicator
    where period = :period
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
    left join rollup_measure p
      on p.period = :period
     and p.unit_code = c.unit_code
     and p.measure_code = y.of_indicator || '{{ suffix }}'
)

select * from final
