-- Each village's state in the latest of the ledgers of the year's quarters
-- (quarter_first .. quarter_last) that has it: the row the rollup reads for a `last`
-- measure of the year (accepted_rows.sql's latest_in_period).
{%- import 'rollup/accepted_rows.sql' as rows %}
select r.unit_code, r.state
from (
{{ rows.latest_accepted('stg_rectification_ledger', ':period', sub_periods=(':quarter_first', ':quarter_last')) }}
) r
where r.latest_in_period = 1
