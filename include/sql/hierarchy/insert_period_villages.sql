-- One row per village valid in the period, under its township, with its name in the
-- period: the lower part of the period's tree (the view unit_closure gives each village
-- its township's ancestors), and whether it is a key-contact village.
insert into period_village (period, unit_code, parent_code, name, key_contact)
select :period as period, unit_code, parent_code, name, key_contact
from unit_register
where valid_from <= :year
  and (valid_to is null or valid_to >= :year)
