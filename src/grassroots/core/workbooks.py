"""Names inside the workbooks the system writes and takes back: the writers
(:mod:`grassroots.reports`) and the reader (:mod:`grassroots.intake`) may not import each
other, so what both must spell the same way is here."""

from __future__ import annotations

# The heading of the feedback workbook's extra first column in sheet 填报表: each row's
# number in the submitter's file. Intake skips the column so headed (and no other
# unknown one) when the workbook is sent back as it is.
FEEDBACK_ROW_HEADING = "原文件行号 Row in your file"
