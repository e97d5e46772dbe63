-- The current release's rows become the previous release's, for comparison and rollback.
insert into fact_indicator_previous (
    period, unit_code, level, indicator_code, value, numerator, denominator,
    expected_units, reporting_units, flags, release_id
)
select period, unit_code, level, indicator_code, value, numerator, denominator,
       expected_units, reporting_units, flags, release_id
from fact_indicator
where period = :period
