-- Before a rollup writes, the rows of the period no release still reads go: those of
-- rollups that no current or previous release names for their part (an unpublished
-- rollup's, a superseded release's), unless a sign-off approved the release that names
-- them (what changed since an approval is read from it). A full rollup looks at every row; a county's rerun
-- only at the rows of rollups no such release names at all and at the two parts it
-- writes (the county's and the one above the counties), so that it stays small.
-- Jinja fills in the table and whether the rollup is scoped to one county.
with read_parts as (
    select p.part, p.built_by
    from release_part p
    join release r
      on r.release_id = p.release_id
    where r.period = :period
      and (r.status in ('current', 'previous')
           or r.release_id in (
               select release_id from approval
               where period = :period
                 and state = 'approved'))
)

delete from {{ table }}
where period = :period
{%- if scoped %}
  and (
      built_by not in (select built_by from read_parts)
      or (part in (:county_code, '')
          and not exists (
              select 1 from read_parts
              where read_parts.part = {{ table }}.part
                and read_parts.built_by = {{ table }}.built_by))
  )
{%- else %}
  and not exists (
      select 1 from read_parts
      where read_parts.part = {{ table }}.part
        and read_parts.built_by = {{ table }}.built_by)
{%- endif %}
