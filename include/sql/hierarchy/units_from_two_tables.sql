-- A warehouse made before the units were stored once: its official units (dim_unit,
-- levels 1-4) and its registers' villages (unit_register, with region and city from
-- their township's row; a village whose township is missing keeps its row, without
-- them) into ``unit``. Nothing is left behind: every register row is a village row.
insert into unit (unit_code, name, level, level_name, parent_code, region_code, city_code,
                  county_code, township_code, zone_type, valid_from, valid_to, predecessors,
                  source_file, loaded_at)
select unit_code, name, level, level_name, parent_code, region_code, city_code, county_code,
       township_code, zone_type, valid_from, valid_to, null, null, null
from dim_unit
where level < {{ village_level }}
union all
select r.unit_code, r.name, {{ village_level }}, 'village', r.parent_code, t.region_code,
       t.city_code, r.county_code, r.parent_code, r.zone_type, r.valid_from, r.valid_to,
       r.predecessors, r.source_file, r.loaded_at
from unit_register r
left join dim_unit t
  on t.unit_code = r.parent_code
 and t.level = 4
