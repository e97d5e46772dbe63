"""Where a value was submitted, said to the submitter in Chinese and English."""

from __future__ import annotations


def cell_location(file_name: str, sheet: str | None, row_number: int, field: str,
                  label_zh: str) -> tuple[str, str]:
    """Where a cell is, for a submitter: (Chinese, English)."""
    sheet_zh = f" 工作表{sheet}" if sheet else ""
    sheet_en = f" sheet {sheet}" if sheet else ""
    return (
        f"{file_name}{sheet_zh} 第{row_number}行 {label_zh}({field})",
        f"{file_name}{sheet_en} row {row_number} column {field}",
    )
