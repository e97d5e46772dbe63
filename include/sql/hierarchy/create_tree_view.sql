-- One row per period, ancestor and descendant in the tree valid in the period, every unit
-- its own ancestor (depth 0): the units of levels 1-4 as area_closure holds them, each
-- village itself, and each village under its township's ancestors, the township included.
create view unit_closure as
select period, ancestor_code, descendant_code, depth, ancestor_level, descendant_level
from area_closure
union all
select period, unit_code, unit_code, 0, {{ village_level }}, {{ village_level }}
from period_village
union all
select v.period, a.ancestor_code, v.unit_code, a.depth + 1, a.ancestor_level, {{ village_level }}
from period_village v
join area_closure a
  on a.period = v.period
 and a.descendant_code = v.parent_code
