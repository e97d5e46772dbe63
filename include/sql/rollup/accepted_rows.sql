{#- Macro, imported by the rollup's statements: the rows that count for a period, one per
    unit. When two accepted files cover the same unit, the later submission counts.
    `county_of`: a period parameter, to take only the units in that period's tree under
    :county_code (an incremental run). -#}
{%- macro latest_accepted(table, period_param, county_of=none) -%}
    select ranked.*
    from (
        select r.*,
               row_number() over (partition by r.unit_code order by r.submission_id desc) as rank_in_unit
        from {{ table }} r
        join submission s on s.submission_id = r.submission_id
        where s.period = {{ period_param }}
          and s.status = 'accepted'
          and r.row_status = 'accepted'
          {%- if county_of %}
          and r.unit_code in (
              select descendant_code from unit_closure
              where period = {{ county_of }} and ancestor_code = :county_code)
          {%- endif %}
    ) ranked
    where ranked.rank_in_unit = 1
{%- endmacro -%}
