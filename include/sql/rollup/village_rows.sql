-- One row per village valid in the period, written by the rollup that builds the
-- period's next release (built_by), with its county as its part, for a period no form
-- of villages is sent for as a whole (a quarter, a week): only the forms sent for
-- shorter periods than it (`forms`) have columns, each village not reporting them yet
-- (village_form_facts.sql fills in those that do): each due once per period of the form
-- (`periods`, a bind parameter) when the form is expected of it (`expected_where`: a
-- key-contact village), with `units` the village itself. Jinja fills in the forms' codes
-- and conditions.
{%- from 'scope.sql' import county_part_join, expected_village, in_county %}
insert into fact_village (
    period, built_by, part, unit_code, level
    {%- for f in forms %}, {{ f.code }}__reporting, {{ f.code }}__expected{% if f.units %}, {{ f.units }}{% endif %}{% endfor %}
)
select :period,
       :built_by,
       coalesce(county_part.ancestor_code, ''),
       u.unit_code,
       {{ village_level }}
       {%- for f in forms %},
       0,
       {{ expected_village('u.unit_code', f.expected_where) }}{% if f.periods %} * {{ f.periods }}{% endif %}
       {%- if f.units %},
       {{ expected_village('u.unit_code', f.expected_where) }}
       {%- endif %}
       {%- endfor %}
from period_village u
{{ county_part_join('u.parent_code', county_level) }}
where u.period = :period
  {{- in_county('u.parent_code', scoped) }}
