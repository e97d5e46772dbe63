-- One row per period, unit of levels 1-4 and compared measure: the previous period's accepted rows
-- summed for this period's year-on-year changes. Two ways, chosen by Jinja:
--   on_this_tree: re-aggregated on THIS period's tree, a previous row counting under the
--     village it is or the village it merged into (unit_predecessor): '<code>__previous_comparable'
--   otherwise: on the previous period's own tree: '<code>__previous'
-- Both read the previous period's rows, never its published release, so a period's
-- rollup does not depend on the order in which periods were published.
-- Jinja fills in the form's table and the measures; values are bind parameters.
{%- import 'rollup/accepted_rows.sql' as rows %}
{%- set tree_period = ':period' if on_this_tree else ':previous_period' %}
insert into rollup_measure (period, unit_code, measure_code, value, reporting_units, expected_units)
with lineage as (
    select descendant_code as unit_code, descendant_code as source_code
    from unit_closure
    where period = {{ tree_period }}
      and depth = 0
      and descendant_level = {{ row_level }}
    {%- if on_this_tree %}
    union all
    select unit_code, predecessor_code as source_code
    from unit_predecessor
    where period = :period
    {%- endif %}
),

previous_accepted as (
{{ rows.latest_accepted(table, ':previous_period') }}
),

previous_rows as (
    select l.unit_code as mapped_code, previous_accepted.*
    from previous_accepted
    join lineage l on l.source_code = previous_accepted.unit_code
),

summed as (
    select t.ancestor_code as unit_code,
           count(*) as reporting_units
           {%- for m in measures %},
           -- rounded: summing floats in another order must not change a published digit
           round(cast(sum({{ m.expression }}) as numeric), 6) as m{{ loop.index }}
           {%- endfor %}
    from previous_rows
    join unit_closure t
      on t.period = {{ tree_period }}
     and t.descendant_code = previous_rows.mapped_code
     and t.descendant_level = {{ row_level }}
     and t.ancestor_level <= {{ area_level }}
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
    select :period as period, unit_code, '{{ m.code }}{{ suffix }}' as measure_code,
           1.0 * m{{ loop.index }} as value, reporting_units, cast(null as integer) as expected_units
    from summed
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
