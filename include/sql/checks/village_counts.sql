-- The counts that townships' and counties' returns are reconciled with: for every unit of
-- the given levels (Jinja's `levels`) in the period's tree, the villages below it counted
-- from their returns (each village's row in its latest accepted file, the later row if
-- the file gives it twice, whatever its checks said: reconciliation is about what was
-- submitted). One pass over the villages' rows serves every level, rather than a pass
-- per level. When one county is checked (`scoped`), only that county's villages are
-- counted. checks/reconciliation_reported.sql gives the rows they are compared with.
{%- from 'scope.sql' import in_county %}
{%- import 'rollup/accepted_rows.sql' as rows %}
with village_rows as (
    -- only the columns counted below
    select r.unit_code, r.org_class, r.rectification, r.rectification_target,
           r.committee_members, r.committee_college, r.committee_female
    from ({{ rows.latest_accepted('stg_village_annual', ':period', checked=false) }}) r
    {{- in_county('r.unit_code', scoped, keyword='where') }}
),

townships as (
    -- counted under their townships first: a township has few ancestors, its villages
    -- many times as many rows
    select t_village.parent_code as township_code,
           count(*) as villages_counted,
           sum(case when v.org_class = '3' then 1 else 0 end) as class3_villages_counted,
           sum(case when v.rectification = 'converted' then 1 else 0 end) as converted_villages_counted,
           sum(case when v.rectification_target = 1 then 1 else 0 end) as rectification_targets_counted,
           sum(v.committee_members) as committee_members_counted,
           sum(v.committee_college) as committee_college_counted,
           sum(v.committee_female) as committee_female_counted
    from village_rows v
    join period_village t_village
      on t_village.period = :period
     and t_village.unit_code = v.unit_code
    group by t_village.parent_code
),

final as (
    select t.ancestor_level as level,
           t.ancestor_code as unit_code,
           sum(b.villages_counted) as villages_counted,
           sum(b.class3_villages_counted) as class3_villages_counted,
           sum(b.converted_villages_counted) as converted_villages_counted,
           sum(b.rectification_targets_counted) as rectification_targets_counted,
           sum(b.committee_members_counted) as committee_members_counted,
           sum(b.committee_college_counted) as committee_college_counted,
           sum(b.committee_female_counted) as committee_female_counted
    from townships b
    join area_closure t
      on t.period = :period
     and t.descendant_code = b.township_code
    where t.ancestor_level in ({{ levels | join(', ') }})
    group by t.ancestor_level, t.ancestor_code
)

select * from final
