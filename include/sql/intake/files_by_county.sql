-- One row per county and submission status: the files submitted from inside the county
-- (by the county itself, its townships or its villages) for the period.
with submitters as (
    select s.submission_id, s.status, c.ancestor_code as county_code
    from submission s
    -- a village's county is its township's
    left join period_village v
      on v.period = :period
     and v.unit_code = s.unit_code
    join area_closure c
      on c.period = :period
     and c.descendant_code = coalesce(v.parent_code, s.unit_code)
     and c.ancestor_level = 3
    where s.period = :period
),

final as (
    select county_code, status, count(*) as files
    from submitters
    group by county_code, status
)

select * from final
