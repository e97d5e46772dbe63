-- One row per unit and period of one level, one column per indicator published at that
-- level: the wide view a BI user points at without joins, computed from the units' wide
-- rows of each period's current release as fact_indicator computes them (NULL where the
-- unit has no units of the indicator's form below it), and how far sign-off reaches for
-- the unit (`approval`: none, township, county, city, region). Jinja fills in the level, its
-- table and the catalog's indicators.
{%- import 'publish/indicators.sql' as ind %}
{%- from 'scope.sql' import release_status_rows, join_approval_reach, approval_label %}
create view v_{{ level_name }} as
with final as (
    select v.period,
           v.unit_code,
           u.name as unit_name,
           {{ approval_label() }} as approval
           {%- for i in indicators %},
           case when v.{{ i.expected }} > 0 then {{ ind.value(i, integer_columns) }} end as {{ i.code }}
           {%- endfor %}
    {{ release_status_rows(table, 'current') }}
    {{ join_approval_reach(level == village_level) }}
    left join (
        select unit_code, min(name) as name from dim_unit group by unit_code
    ) u on u.unit_code = v.unit_code
    where v.level = {{ level }}
)

select * from final
