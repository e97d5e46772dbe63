-- The parts of the release being built and the rollup whose rows each
-- holds. A full rollup wrote every part itself. A county's rerun
-- (scoped) wrote the county's part and the part above the counties, whose sums the
-- county's change reaches; every other part is the current release's.
insert into release_part (release_id, part, built_by)
{%- if scoped %}
select :release_id,
       part,
       case when part in (:county_code, '') then :built_by else built_by end
from release_part
where release_id = :current_release_id
{%- else %}
select distinct :release_id, part, :built_by
from fact_area
where period = :period
  and built_by = :built_by
{%- endif %}
