-- One row per row of the period's accepted {{ table }} returns: the township's or
-- county's reconciliation fields as reported, beside the same counts from the returns
-- of the villages below it (each village's row in its latest accepted file, the later
-- row if the file gives it twice, whatever its checks said: reconciliation is about
-- what was submitted). Jinja fills in the level, the table and its reconciliation
-- fields and, when one county is checked, limits the rows to the returns submitted in it.
{%- from 'scope.sql' import in_county, join_area_ancestors %}
with village_rows as (
    -- only the columns counted below: the window sorts what it selects, 488 k rows
    -- nationally (all 35 columns took SQLite 1.7 s more for the townships alone)
    select r.submission_id, r.unit_code, r.org_class, r.rectification, r.rectification_target,
           r.committee_members, r.committee_college, r.committee_female,
           row_number() over (
               partition by r.unit_code order by r.submission_id desc, r.row_number desc
           ) as rank_in_unit
    from stg_village_annual r
    join submission s on s.submission_id = r.submission_id
    where s.period = :period
      and s.status = 'accepted'
      {{- in_county('r.unit_code', scoped) }}
),

counted as (
    select t.ancestor_code as unit_code,
           count(*) as villages_counted,
           sum(case when v.org_class = '3' then 1 else 0 end) as class3_villages_counted,
           sum(case when v.rectification = 'converted' then 1 else 0 end) as converted_villages_counted,
           sum(case when v.rectification_target = 1 then 1 else 0 end) as rectification_targets_counted,
           sum(v.committee_members) as committee_members_counted,
           sum(v.committee_college) as committee_college_counted,
           sum(v.committee_female) as committee_female_counted
    from village_rows v
    {{- join_area_ancestors('t', 'v.unit_code', none, true) }}
    where v.rank_in_unit = 1
      and t.ancestor_level = {{ level }}
    group by t.ancestor_code
),

reported as (
    select r.submission_id, r.row_number, r.unit_code
           {%- for field in fields %}, r.{{ field }}{% endfor %}
    from {{ table }} r
    join submission s on s.submission_id = r.submission_id
    where s.period = :period
      and s.status = 'accepted'
      {{- in_county('s.unit_code', scoped) }}
),

final as (
    select reported.*,
           coalesce(c.villages_counted, 0) as villages_counted,
           coalesce(c.class3_villages_counted, 0) as class3_villages_counted,
           coalesce(c.converted_villages_counted, 0) as converted_villages_counted,
           coalesce(c.rectification_targets_counted, 0) as rectification_targets_counted,
           coalesce(c.committee_members_counted, 0) as committee_members_counted,
           coalesce(c.committee_college_counted, 0) as committee_college_counted,
           coalesce(c.committee_female_counted, 0) as committee_female_counted
    from reported
    left join counted c on c.unit_code = reported.unit_code
)

select * from final order by submission_id, row_number
