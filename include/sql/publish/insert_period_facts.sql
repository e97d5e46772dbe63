-- One row per period, unit and indicator, stamped with the release that published it.
insert into fact_indicator (
    period, unit_code, level, indicator_code, value, numerator, denominator,
    expected_units, reporting_units, flags, release_id
)
select period, unit_code, level, indicator_code, value, numerator, denominator,
       expected_units, reporting_units, flags, :release_id as release_id
from rollup_indicator
where period = :period
