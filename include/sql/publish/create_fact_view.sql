-- The published grain, one row per period, unit and indicator for every unit of every
-- level: levels 1-4 as stored, and each village's indicators computed from its wide row
-- (one branch per village indicator). BI reads it like a table. Jinja fills in the
-- view's name, its two tables and the catalog's village indicators.
{%- import 'publish/village_indicators.sql' as vi %}
create view {{ view }} as
select period, unit_code, level, indicator_code, value, numerator, denominator,
       expected_units, reporting_units, flags, release_id
from {{ area_table }}
{%- for i in indicators %}
union all
select v.period,
       v.unit_code,
       {{ village_level }} as level,
       cast('{{ i.code }}' as varchar(60)) as indicator_code,
       {{ vi.value(i, integer_columns) }} as value,
       {{ vi.numerator(i, integer_columns) }} as numerator,
       {{ vi.denominator(i, integer_columns) }} as denominator,
       v.{{ i.expected }} as expected_units,
       v.{{ i.reporting }} as reporting_units,
       {{ vi.flags(i) }} as flags,
       v.release_id
from {{ village_table }} v
{%- endfor %}
