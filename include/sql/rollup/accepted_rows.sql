{#- Macros, imported by the rollup's statements.

    latest_accepted: the rows that count for a period, one per unit. When two accepted
    files cover the same unit, the later submission counts (and within one file, the later
    row: a steward may accept both rows of a unit given twice). The whole rows are ranked:
    ranking only their keys and reading the winners back by primary key halved the ranking
    on SQLite, but the join left the result without the automatic index the statements
    join it through (village_facts.sql then scanned it once per village).
    `scope`: for a county's rerun, a query of the unit codes to take (county_units or
    reaching_county below); the rows are then looked up by unit code from those few codes
    rather than found among all the period's rows (on SQLite a CROSS JOIN keeps the scope
    first; PostgreSQL plans it as an inner join). -#}
{%- macro latest_accepted(table, period_param, scope=none) -%}
    select ranked.*
    from (
        select r.*,
               row_number() over (
                   partition by r.unit_code order by r.submission_id desc, r.row_number desc
               ) as rank_in_unit
        {%- if scope %}
        from ({{ scope }}) scope
        cross join {{ table }} r
        join submission s on s.submission_id = r.submission_id
        where r.unit_code = scope.unit_code
          and s.period = {{ period_param }}
        {%- else %}
        from {{ table }} r
        join submission s on s.submission_id = r.submission_id
        where s.period = {{ period_param }}
        {%- endif %}
          and s.status = 'accepted'
          and r.row_status = 'accepted'
    ) ranked
    where ranked.rank_in_unit = 1
{%- endmacro -%}

{#- The units of the period's tree under :county_code. -#}
{%- macro county_units() -%}
select descendant_code as unit_code from unit_closure
where period = :period and ancestor_code = :county_code
{%- endmacro -%}

{#- The units whose previous-period rows reach the county's units: below any of them on
    the previous period's own tree (year-on-year sums), and the county's units and their
    predecessors (comparable sums, on this period's tree). -#}
{%- macro reaching_county() -%}
select t.descendant_code as unit_code from unit_closure t
where t.period = :previous_period
  and t.ancestor_code in ({{ county_units() }})
union
select u.descendant_code from unit_closure u
where u.period = :period and u.ancestor_code = :county_code
union
select p.predecessor_code from unit_predecessor p
where p.period = :period
  and p.unit_code in ({{ county_units() }})
{%- endmacro -%}
