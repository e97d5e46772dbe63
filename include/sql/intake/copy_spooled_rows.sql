-- Rows of some files from a spool file (reading.spool_rows, attached as {{ spool }}) into
-- a table of the warehouse. A file's rows are the rowids first..last of the spool's
-- table; the rows of files not listed (rejected here, or copies) stay behind. Jinja fills
-- in the spool, its table, the target table, the columns copied (the same names in
-- both), the column given each file's value if any, the constant columns, and the
-- number of files (each one's first, last and value bound by its number, in order).
-- The statement begins with insert, not with: Python's sqlite3 opens the transaction
-- only before a statement that begins insert, update, delete or replace.
insert into "{{ table }}" (
    {%- if file_column %}"{{ file_column }}", {% endif %}
    {%- for c in columns %}{{ ", " if not loop.first }}"{{ c }}"{% endfor %}
    {%- for c in constants %}, "{{ c }}"{% endfor %})
with files (first_rowid, last_rowid, file_value) as (
    values {% for i in range(files) %}{{ ", " if not loop.first }}(:first_{{ i }}, :last_{{ i }}, :value_{{ i }}){% endfor %}
)

select {% if file_column %}f.file_value, {% endif %}
    {%- for c in columns %}{{ ", " if not loop.first }}r."{{ c }}"{% endfor %}
    {%- for c in constants %}, :{{ c }}{% endfor %}
-- cross join: SQLite then loops over the files, as listed, and reads each one's range
-- of rowids in order: the rows go in as they were read, without a sort
from files f
cross join {{ spool }}."{{ spool_table }}" r
where r.rowid between f.first_rowid and f.last_rowid
