-- A form of villages sent for shorter periods than the one rolled up, or for the same
-- but beside the villages' annual return (a quarter's ledger in its quarter and its
-- year): the measures of each village with rows, written into the village's row that
-- village_facts.sql or village_rows.sql wrote under this rollup (built_by) before any
-- reader can see it. A village's measures sum its rows of the shorter periods (one per
-- period: `last` measures read the latest alone, accepted_rows.sql's
-- `latest_in_period`), rounded as village_facts.sql rounds. Jinja fills in the form's
-- table and measures; values are bind parameters.
{%- import 'rollup/accepted_rows.sql' as rows %}
update fact_village
set {{ form }}__reporting = x.reporting
    {%- for m in measures %},
    {{ m.code }} = cast(x.m{{ loop.index }} as double precision)
    {%- endfor %}
from (
    select unit_code,
           count(*) as reporting
           {%- for m in measures %},
           {% if m.whole %}sum({{ m.expression }}){% else %}round(cast(sum({{ m.expression }}) as numeric), 6){% endif %} as m{{ loop.index }}
           {%- endfor %}
    from (
{{ rows.latest_accepted(table, ':period', rows.county_units() if scoped else none, standards=standards,
                        overrides=overrides, columns=columns, joins=joins, sub_periods=sub_periods) }}
    ) accepted
    group by unit_code
) x
where fact_village.period = :period
  and fact_village.built_by = :built_by
  and fact_village.unit_code = x.unit_code
