drop view if exists v_{{ level_name }}
