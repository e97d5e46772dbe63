-- An incremental run, step 1: the county's measures before it is recomputed, so that its
-- ancestors can take the difference instead of being summed again.
insert into rollup_measure_before (period, unit_code, measure_code, value, reporting_units, expected_units)
select period, unit_code, measure_code, value, reporting_units, expected_units
from rollup_measure
where period = :period
  and unit_code = :county_code
