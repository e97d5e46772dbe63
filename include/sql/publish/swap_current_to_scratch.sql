-- Rollback, step 1: the current rows to scratch space.
insert into fact_indicator_swap (
    period, unit_code, level, indicator_code, value, numerator, denominator,
    expected_units, reporting_units, flags, release_id
)
select period, unit_code, level, indicator_code, value, numerator, denominator,
       expected_units, reporting_units, flags, release_id
from fact_indicator
where period = :period
