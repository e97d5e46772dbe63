-- One row per village and township below the unit asked about in the period's tree with a rating
-- of the stage announced (its self-rating, or its final rating): the unit, its township,
-- its level, the stars, the class and the rating's note. Jinja fills in the rating
-- columns (catalog/ratings.py picks the rows as the rollup does); values are bind
-- parameters.
with villages as (
    select v.unit_code,
           v.parent_code as township_code,
           v.name,
           5 as level
    from period_village v
    join area_closure t
      on t.period = :period
     and t.ancestor_code = :unit_code
     and t.descendant_code = v.parent_code
    where v.period = :period
),

townships as (
    select t.descendant_code as unit_code,
           t.descendant_code as township_code,
           cast(null as text) as name,
           4 as level
    from area_closure t
    where t.period = :period
      and t.ancestor_code = :unit_code
      and t.descendant_level = 4
      and t.descendant_code <> :unit_code
),

units as (
    select * from villages
    union all
    select * from townships
),

rated as (
    select u.unit_code,
           u.township_code,
           u.name,
           u.level,
           case when u.level = 5 then {{ village.star_rating }} else {{ township.star_rating }} end as star_rating,
           case when u.level = 5 then {{ village.org_class }} else {{ township.org_class }} end as org_class,
           case when u.level = 5 then {{ village.note }} else {{ township.note }} end as note
    from units u
),

final as (
    select * from rated
    where star_rating is not null or org_class is not null
)

select * from final
order by township_code, level, unit_code
