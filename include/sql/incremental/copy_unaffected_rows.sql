-- An incremental run, step 1: the current release's rows of every unit outside the
-- county's subtree (of one table family: fact_area or fact_village), unchanged. The
-- county's ancestors among them then take the county's difference; with the county's
-- recomputed subtree they make a whole release for publish to audit and swap in.
insert into {{ target }} ({{ columns | join(', ') }})
select {{ columns | join(', ') }}
from {{ source }}
where period = :period
  and unit_code not in (
      select descendant_code from unit_closure
      where period = :period and ancestor_code = :county_code)
