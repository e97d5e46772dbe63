-- A period's rows copied whole from one table of a family to another: current to
-- previous, the rollup's to current (stamped with the new release), and rollback's
-- swaps. Jinja fills in the two tables and their shared columns.
insert into {{ target }} ({{ columns | join(', ') }})
select {% for c in columns -%}
       {%- if c == 'release_id' and stamp_release %}:release_id as release_id
       {%- else %}{{ c }}{% endif %}{{ ', ' if not loop.last }}
       {%- endfor %}
from {{ source }}
where period = :period
