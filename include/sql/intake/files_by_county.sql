-- One row per county and submission status: the files submitted from inside the county
-- (by the county itself, its townships or its villages) for the period.
with submitters as (
    select s.submission_id, s.status, c.ancestor_code as county_code
    from submission s
    join unit_closure c
      on c.period = :period
     and c.descendant_code = s.unit_code
     and c.ancestor_level = 3
    where s.period = :period
),

final as (
    select county_code, status, count(*) as files
    from submitters
    group by county_code, status
)

select * from final
