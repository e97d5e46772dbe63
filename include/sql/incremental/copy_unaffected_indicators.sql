-- An incremental run, last step: the rows of every unit outside the county's subtree and
-- ancestors are the current release's, unchanged; with the recomputed ones they make a
-- whole release for publish to audit and swap in.
insert into rollup_indicator (
    period, unit_code, level, indicator_code, value, numerator, denominator,
    expected_units, reporting_units, flags, release_id
)
with affected as (
    select descendant_code as unit_code from unit_closure
    where period = :period and ancestor_code = :county_code
    union
    select ancestor_code as unit_code from unit_closure
    where period = :period and descendant_code = :county_code
),

final as (
    select f.period, f.unit_code, f.level, f.indicator_code, f.value, f.numerator,
           f.denominator, f.expected_units, f.reporting_units, f.flags,
           cast(null as integer) as release_id
    from fact_indicator_area f
    where f.period = :period
      and f.unit_code not in (select unit_code from affected)
)

select * from final
