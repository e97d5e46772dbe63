{#- Macros, imported by the views: one indicator of one unit computed from the unit's wide
    row (alias v: fact_area, fact_village and their kin), whose measures are sums over the
    accepted rows below the unit (a village's: its own row's). Ratios and weighted means
    are Σ numerator / Σ denominator × factor, never an average of averages; a zero
    denominator gives NULL, as does a unit with no row of the indicator's form reporting
    (except the counts of the tree and of the rows received: the reporting rate, the
    units expected, the rows due and received). Year-on-year changes compare with the previous period's
    sums. `i` is a dict (warehouse.indicator_specs): code, aggregation, numerator,
    denominator (measure columns), factor, of (the compared indicator's dict), previous
    (the column of the previous period's sum, or none), reporting, expected (the form's
    count columns), from_level. -#}

{%- macro number(column, integer_columns) -%}
{%- if column in integer_columns -%}cast(v.{{ column }} as double precision){%- else -%}v.{{ column }}{%- endif -%}
{%- endmacro -%}

{%- macro value(i, integer_columns) -%}
{%- if i.aggregation in ('yoy', 'yoy_comparable') and not i.previous -%}
cast(null as double precision)
{%- elif i.aggregation in ('yoy', 'yoy_comparable') -%}
case
    when ({{ value(i.of, integer_columns) }}) is null or v.{{ i.previous }} is null or v.{{ i.previous }} = 0 then null
    else cast(round(cast((({{ value(i.of, integer_columns) }}) - v.{{ i.previous }}) * 100.0 / v.{{ i.previous }} as numeric), 9) as double precision)
end
{%- else -%}
case
    {%- if i.aggregation not in ('reporting_rate', 'expected_units', 'expected_rows', 'reporting_rows') %}
    when v.{{ i.reporting }} = 0 then null
    {%- endif %}
    {%- if not i.denominator %}
    when true then cast(round(cast({{ number(i.numerator, integer_columns) }} as numeric), 9) as double precision)
    {%- else %}
    when {{ number(i.denominator, integer_columns) }} is null or {{ number(i.denominator, integer_columns) }} = 0 then null
    else cast(round(cast({{ number(i.numerator, integer_columns) }} * cast({{ i.factor }} as double precision)
                         / {{ number(i.denominator, integer_columns) }} as numeric), 9) as double precision)
    {%- endif %}
end
{%- endif -%}
{%- endmacro -%}

{%- macro numerator(i, integer_columns) -%}
{%- if i.aggregation in ('yoy', 'yoy_comparable') -%}
{{ value(i.of, integer_columns) }}
{%- elif i.denominator -%}
cast(round(cast({{ number(i.numerator, integer_columns) }} as numeric), 9) as double precision)
{%- else -%}
cast(null as double precision)
{%- endif -%}
{%- endmacro -%}

{%- macro denominator(i, integer_columns) -%}
{%- if i.aggregation in ('yoy', 'yoy_comparable') -%}
{%- if i.previous %}v.{{ i.previous }}{% else %}cast(null as double precision){% endif -%}
{%- elif i.denominator -%}
cast(round(cast({{ number(i.denominator, integer_columns) }} as numeric), 9) as double precision)
{%- else -%}
cast(null as double precision)
{%- endif -%}
{%- endmacro -%}

{%- macro flags(i) -%}
{%- if i.aggregation in ('yoy', 'yoy_comparable') -%}
{%- if i.previous %}case when v.{{ i.previous }} is null then 'no_previous_period' end{% else %}'no_previous_period'{% endif -%}
{%- else -%}
cast(null as text)
{%- endif -%}
{%- endmacro -%}
