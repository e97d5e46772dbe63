-- An incremental run, last step (villages): every village outside the county keeps the
-- current release's row, unchanged; with the county's recomputed villages they make a
-- whole release for publish to audit and swap in.
insert into rollup_village ({{ columns | join(', ') }})
select {{ columns | join(', ') }}
from fact_village
where period = :period
  and unit_code not in (
      select descendant_code from unit_closure
      where period = :period and ancestor_code = :county_code)
