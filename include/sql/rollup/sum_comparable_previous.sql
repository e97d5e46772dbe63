-- One row per period, unit and comparable measure: the previous period's accepted rows
-- re-aggregated on THIS period's tree. A previous row counts under the village it is,
-- or under the village it merged into (unit_predecessor). Jinja fills in the form's
-- table and the measures compared; values are bind parameters.
insert into rollup_measure (period, unit_code, measure_code, value, reporting_units, expected_units)
with lineage as (
    select descendant_code as unit_code, descendant_code as source_code
    from unit_closure
    where period = :period
      and depth = 0
      and descendant_level = {{ row_level }}
    union all
    select unit_code, predecessor_code as source_code
    from unit_predecessor
    where period = :period
),

ranked as (
    select r.*,
           row_number() over (partition by r.unit_code order by r.submission_id desc) as rank_in_unit
    from {{ table }} r
    join submission s on s.submission_id = r.submission_id
    where s.period = :previous_period
      and s.status = 'accepted'
      and r.row_status = 'accepted'
),

previous_rows as (
    select l.unit_code as mapped_code, ranked.*
    from ranked
    join lineage l on l.source_code = ranked.unit_code
    where ranked.rank_in_unit = 1
),

summed as (
    select t.ancestor_code as unit_code,
           count(*) as reporting_units
           {%- for m in measures %},
           sum({{ m.expression }}) as m{{ loop.index }}
           {%- endfor %}
    from previous_rows
    join unit_closure t
      on t.period = :period
     and t.descendant_code = previous_rows.mapped_code
     and t.descendant_level = {{ row_level }}
    {%- if scoped %}
    where t.ancestor_code in (
        select descendant_code from unit_closure
        where period = :period and ancestor_code = :county_code
    )
    {%- endif %}
    group by t.ancestor_code
),

final as (
    {%- for m in measures %}
    select :period as period, unit_code, '{{ m.code }}__previous_comparable' as measure_code,
           1.0 * m{{ loop.index }} as value, reporting_units, cast(null as integer) as expected_units
    from summed
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
