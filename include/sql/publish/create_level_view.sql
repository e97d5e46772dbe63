-- One row per unit and period of one level, one column per indicator: the wide view a
-- BI user points at without joins. Levels 1-4 pivot fact_indicator_area, which holds only
-- the current release of each period; villages are computed from their wide rows in
-- fact_village, as fact_indicator computes them. Jinja fills in the level and the
-- catalog's codes.
{%- import 'publish/village_indicators.sql' as vi %}
create view v_{{ level_name }} as
{%- if village_indicators %}
with final as (
    select v.period,
           v.unit_code,
           u.name as unit_name
           {%- for i in village_indicators %},
           {{ vi.value(i, integer_columns) }} as {{ i.code }}
           {%- endfor %}
    from fact_village v
    left join (
        select unit_code, min(name) as name from dim_unit group by unit_code
    ) u on u.unit_code = v.unit_code
)
{%- else %}
with facts as (
    select period, unit_code, indicator_code, value
    from fact_indicator_area
    where level = {{ level }}
),

final as (
    select f.period,
           f.unit_code,
           u.name as unit_name
           {%- for code in indicator_codes %},
           max(case when f.indicator_code = '{{ code }}' then f.value end) as {{ code }}
           {%- endfor %}
    from facts f
    left join (
        select unit_code, min(name) as name from dim_unit group by unit_code
    ) u on u.unit_code = f.unit_code
    group by f.period, f.unit_code, u.name
)
{%- endif %}

select * from final
