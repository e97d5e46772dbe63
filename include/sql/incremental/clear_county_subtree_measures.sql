-- An incremental run, step 2: the measures of the county and every unit below it go;
-- the rollup writes them again from the accepted rows.
delete from rollup_measure
where period = :period
  and unit_code in (
      select descendant_code from unit_closure
      where period = :period and ancestor_code = :county_code
  )
