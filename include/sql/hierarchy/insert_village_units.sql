-- The villages of the given counties' registers as units (level 5), each under its
-- township with the township's region, city and county: one statement instead of a row
-- per village sent from Python.
insert into dim_unit (unit_code, name, level, level_name, parent_code, region_code, city_code,
                      county_code, township_code, zone_type, valid_from, valid_to)
select r.unit_code,
       r.name,
       5 as level,
       'village' as level_name,
       r.parent_code,
       t.region_code,
       t.city_code,
       r.county_code,
       r.parent_code as township_code,
       r.zone_type,
       r.valid_from,
       r.valid_to
from unit_register r
join dim_unit t on t.unit_code = r.parent_code and t.level = 4
where r.county_code in :counties
order by r.county_code, r.unit_code, r.valid_from
