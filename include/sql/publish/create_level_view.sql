-- One row per unit and period of one level, one column per indicator: the wide view a
-- BI user points at without joins. It reads fact_indicator, which holds only the
-- current release of each period. Jinja fills in the level and the catalog's codes.
create view v_{{ level_name }} as
with facts as (
    select period, unit_code, indicator_code, value
    from fact_indicator
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

select * from final
