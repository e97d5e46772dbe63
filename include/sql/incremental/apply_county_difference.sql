-- An incremental run, step 4: every ancestor of the county takes the county's change
-- (measures are additive sums, so ancestor = ancestor − county before + county after).
-- A measure with no reporting unit left is NULL, as a full rollup leaves it, except the
-- counts of reporting and expected units themselves.
update rollup_measure
set value = case
        when substr(measure_code, length(measure_code) - 10) <> '__reporting'
         and substr(measure_code, length(measure_code) - 9) <> '__expected'
         and coalesce(reporting_units, 0)
             + coalesce((select n.reporting_units from rollup_measure n
                         where n.period = :period and n.unit_code = :county_code
                           and n.measure_code = rollup_measure.measure_code), 0)
             - coalesce((select b.reporting_units from rollup_measure_before b
                         where b.period = :period and b.unit_code = :county_code
                           and b.measure_code = rollup_measure.measure_code), 0) = 0
        then null
        -- rounded as the sums are (sum_measures.sql), so a full run gives the same digits
        else round(cast(
             coalesce(value, 0)
             + coalesce((select n.value from rollup_measure n
                         where n.period = :period and n.unit_code = :county_code
                           and n.measure_code = rollup_measure.measure_code), 0)
             - coalesce((select b.value from rollup_measure_before b
                         where b.period = :period and b.unit_code = :county_code
                           and b.measure_code = rollup_measure.measure_code), 0)
             as numeric), 6)
    end,
    reporting_units = coalesce(reporting_units, 0)
        + coalesce((select n.reporting_units from rollup_measure n
                    where n.period = :period and n.unit_code = :county_code
                      and n.measure_code = rollup_measure.measure_code), 0)
        - coalesce((select b.reporting_units from rollup_measure_before b
                    where b.period = :period and b.unit_code = :county_code
                      and b.measure_code = rollup_measure.measure_code), 0)
where period = :period
  and unit_code in (
      select ancestor_code from unit_closure
      where period = :period and descendant_code = :county_code and depth > 0
  )
