-- An incremental run, step 1: the current release's rows (of fact_area or fact_village)
-- of every unit outside the county's subtree, unchanged, into the slot the new release
-- is built in. The county's ancestors among them then take the county's difference;
-- with the county's recomputed subtree they make a whole release for publish to audit
-- and make current.
insert into {{ table }} (period, slot, {{ columns | join(', ') }})
select period, :slot, {{ columns | join(', ') }}
from {{ table }}
where period = :period
  and slot = :current_slot
  and unit_code not in (
      select descendant_code from unit_closure
      where period = :period and ancestor_code = :county_code)
