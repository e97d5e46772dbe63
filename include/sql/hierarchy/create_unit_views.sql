-- A view over ``unit``, each unit version stored once: ``dim_unit`` (published: every
-- unit version with the columns BI reads) or ``unit_register`` (the pipeline's: each
-- village version as its county's register gave it, `village_level` given). Jinja fills
-- in the view's name and columns from the warehouse's declarations.
create view {{ view }} as
select {{ columns | join(', ') }}
from unit
{%- if village_level is defined %}
where level = {{ village_level }}
{%- endif %}
