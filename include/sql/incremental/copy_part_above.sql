-- A county's rerun, step 1: the current release's rows of the part above the counties
-- (provinces and cities, and any unit under no county), unchanged, written again by
-- this rollup: the county's ancestors among them then take the county's difference
-- (apply_county_difference.sql). Every other county's rows are not copied: the new
-- release shares them (release_parts.sql).
insert into {{ table }} (period, built_by, part, {{ columns | join(', ') }})
select v.period, :built_by, v.part
       {%- for column in columns %}, v.{{ column }}{% endfor %}
from {{ table }} v
join release_part p
  on p.release_id = :current_release_id
 and p.part = v.part
 and p.built_by = v.built_by
where v.period = :period
  and v.part = ''
