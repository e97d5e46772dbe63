-- Rollback, step 3: the previous release's rows become current again.
insert into fact_indicator (
    period, unit_code, level, indicator_code, value, numerator, denominator,
    expected_units, reporting_units, flags, release_id
)
select period, unit_code, level, indicator_code, value, numerator, denominator,
       expected_units, reporting_units, flags, release_id
from fact_indicator_previous
where period = :period
