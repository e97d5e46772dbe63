-- A county's rerun, step 1: the current release's rows of the part above the counties
-- (provinces and cities, and any unit under no county), unchanged, written again by
-- this rollup: the county's ancestors among them then take the county's difference
-- (apply_county_difference.sql). Every other county's rows are not copied: the new
-- release shares them (release_parts.sql).
{%- from 'scope.sql' import release_rows %}
insert into {{ table }} (period, built_by, part, {{ columns | join(', ') }})
select v.period, :built_by, v.part
       {%- for column in columns %}, v.{{ column }}{% endfor %}
{{ release_rows(table, ':current_release_id') }}
  and v.part = ''
