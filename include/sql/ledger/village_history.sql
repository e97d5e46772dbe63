-- A village's rectification history (CONTRACT.md §6): every state its ledgers reported,
-- with its date and the submission and row that reported it, by quarter, submission and
-- row, up to the quarter last_quarter; a row repeating the state and state date of the
-- row before it (the same plan sent again next quarter) is left out. `converts` marks
-- the rows that move the plan into converted or beyond (history.sql).
{%- import 'ledger/history.sql' as ledger %}
select m.unit_code, m.period, m.submission_id, m.row_number, m.state, m.state_on,
       m.previous_state, {{ ledger.converts('m') }} as converts,
       s.file_name, s.unit_code as submitted_by
from (
    select x.*,
           lag(x.state) over w as repeated_state,
           lag(x.state_on) over w as repeated_state_on
    from ({{ ledger.moves("h.unit_code = :unit_code and hs.period <= :last_quarter") }}) x
    window w as (partition by x.unit_code order by x.period, x.submission_id, x.row_number)
) m
join submission s on s.submission_id = m.submission_id
where m.repeated_state is null
   or m.repeated_state <> m.state
   or m.repeated_state_on <> m.state_on
order by m.period, m.submission_id, m.row_number
