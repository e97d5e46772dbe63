-- The two views over ``unit``, each unit version stored once: ``dim_unit`` (published:
-- every unit version with the columns BI reads) or ``unit_register`` (the pipeline's:
-- each village version as its county's register gave it). Jinja picks the view.
{%- if view == "dim_unit" %}
create view dim_unit as
select unit_code, name, level, level_name, parent_code, region_code, city_code, county_code,
       township_code, zone_type, valid_from, valid_to
from unit
{%- else %}
create view unit_register as
select unit_code, valid_from, valid_to, name, parent_code, county_code, zone_type,
       predecessors, source_file, loaded_at
from unit
where level = {{ village_level }}
{%- endif %}
