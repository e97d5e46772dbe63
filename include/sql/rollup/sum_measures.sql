-- One row per period, unit of levels 1-4 and measure of one form: additive sums of the
-- accepted rows over the tree valid in the period, with the units expected and reporting
-- below. A village's own measures are its row's (village_facts.sql).
-- Jinja fills in only what the catalog declares (the form's table and its measures) and,
-- for an incremental run, limits the units to one county's subtree; values arrive as
-- bind parameters.
{%- import 'rollup/accepted_rows.sql' as rows %}
insert into rollup_measure (period, unit_code, measure_code, value, reporting_units, expected_units)
with tree as (
    select ancestor_code, descendant_code
    from unit_closure
    where period = :period
      and descendant_level = {{ row_level }}
      and ancestor_level <= {{ area_level }}
      {%- if scoped %}
      and ancestor_code in (
          select descendant_code from unit_closure
          where period = :period and ancestor_code = :county_code
      )
      {%- endif %}
),

expected as (
    select ancestor_code as unit_code, count(*) as expected_units
    from tree
    group by ancestor_code
),

accepted as (
{{ rows.latest_accepted(table, ':period') }}
),

summed as (
    select t.ancestor_code as unit_code,
           count(*) as reporting_units
           {%- for m in measures %},
           -- rounded: summing floats in another order must not change a published digit
           round(cast(sum({{ m.expression }}) as numeric), 6) as m{{ loop.index }}
           {%- endfor %}
    from accepted
    -- the closure table itself, not the tree CTE: its index finds each row's ancestors
    join unit_closure t
      on t.period = :period
     and t.descendant_code = accepted.unit_code
     and t.descendant_level = {{ row_level }}
     and t.ancestor_level <= {{ area_level }}
    {%- if scoped %}
    where t.ancestor_code in (select ancestor_code from tree)
    {%- endif %}
    group by t.ancestor_code
),

per_unit as (
    select e.unit_code,
           e.expected_units,
           coalesce(s.reporting_units, 0) as reporting_units
           {%- for m in measures %},
           s.m{{ loop.index }}
           {%- endfor %}
    from expected e
    left join summed s on s.unit_code = e.unit_code
),

final as (
    {%- for m in measures %}
    select :period as period, unit_code, '{{ m.code }}' as measure_code,
           1.0 * m{{ loop.index }} as value, reporting_units, expected_units
    from per_unit
    union all
    {%- endfor %}
    select :period as period, unit_code, '{{ form }}__reporting' as measure_code,
           1.0 * reporting_units as value, reporting_units, expected_units
    from per_unit
    union all
    select :period as period, unit_code, '{{ form }}__expected' as measure_code,
           1.0 * expected_units as value, reporting_units, expected_units
    from per_unit
)

select * from final
