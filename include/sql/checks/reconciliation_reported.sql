-- One row per row of the period's accepted {{ table }} returns (those submitted in one
-- county when `scoped`), with the reconciliation fields Jinja lists: what a township or
-- county reported, compared with checks/village_counts.sql's counts of its villages.
{%- from 'scope.sql' import in_county %}
select r.submission_id, r.row_number, r.unit_code
       {%- for field in fields %}, r.{{ field }}{% endfor %}
from {{ table }} r
join submission s on s.submission_id = r.submission_id
where s.period = :period
  and s.status = 'accepted'
  {{- in_county('s.unit_code', scoped) }}
order by r.submission_id, r.row_number
