-- One row per township of the period's tree (those of the county checked when `scoped`) with its
-- county: the peer group of the outlier checks of the township's return and of its
-- villages' (checks/outliers.py).
select descendant_code as unit_code,
       ancestor_code as county_code
from area_closure
where period = :period
  and ancestor_level = 3
  and descendant_level = 4
  {%- if scoped %}
  and ancestor_code = :county_code
  {%- endif %}
