-- One row per village valid in the period, written by the rollup that builds the
-- period's next release (built_by), with its county as its part, for a period no form
-- of villages is sent for as a whole (a quarter, a week): only the forms sent for
-- shorter periods than it (`forms`) have columns, each village not reporting them yet
-- (village_form_facts.sql fills in those that do). Jinja fills in the forms' codes.
{%- from 'scope.sql' import county_part_join, in_county %}
insert into fact_village (
    period, built_by, part, unit_code, level
    {%- for f in forms %}, {{ f }}__reporting, {{ f }}__expected{% endfor %}
)
select :period,
       :built_by,
       coalesce(county_part.ancestor_code, ''),
       u.unit_code,
       {{ village_level }}
       {%- for f in forms %}, 0, 1{% endfor %}
from period_village u
{{ county_part_join('u.parent_code', county_level) }}
where u.period = :period
  {{- in_county('u.parent_code', scoped) }}
