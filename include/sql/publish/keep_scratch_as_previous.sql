-- Rollback, step 5: the rolled-back release is kept as the previous one (a roll-forward
-- is another rollback).
insert into fact_indicator_previous (
    period, unit_code, level, indicator_code, value, numerator, denominator,
    expected_units, reporting_units, flags, release_id
)
select period, unit_code, level, indicator_code, value, numerator, denominator,
       expected_units, reporting_units, flags, release_id
from fact_indicator_swap
where period = :period
