"""Cell cleaning: every typed cell becomes a clean value or a precise error.

Submissions are typed by hand: thousands separators, full-width digits, units in the
cell ("15万", "200平方米"), Chinese yes/no, placeholders like "x" or "—". One function
per field type; nothing is guessed silently.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from grassroots.catalog import Field

PLACEHOLDERS = {"x", "xx", "X", "XX", "—", "——", "-", "--", "/", "无", "空", "n/a", "N/A", "?", "？"}
TRUE_WORDS = {"是", "yes", "y", "true", "1", "有", "√", "t"}
FALSE_WORDS = {"否", "no", "n", "false", "0", "没有", "×", "f"}
# Units a submitter may type after a number, by the field's declared unit.
UNIT_SUFFIXES = {
    "万元": ("万元", "万"),
    "平方米": ("平方米", "平米", "㎡", "m2", "m²"),
    "岁": ("周岁", "岁"),
    "人": ("人",),
    "个": ("个",),
    "星": ("星", "颗星"),
}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


@dataclass(frozen=True)
class CellError:
    rule: str  # "type", "required", "placeholder"
    message_zh: str
    message_en: str


class CleanError(ValueError):
    def __init__(self, error: CellError) -> None:
        super().__init__(error.message_en)
        self.error = error


def _text(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return unicodedata.normalize("NFKC", str(raw)).strip()


def _fail(rule: str, zh: str, en: str) -> CleanError:
    return CleanError(CellError(rule, zh, en))


def _number(field: Field, raw: object) -> float:
    if isinstance(raw, bool):
        raise _fail("type", "应为数字", "must be a number")
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise _fail("type", "应为数字", "must be a number")
        return float(raw)
    text = _text(raw).replace(",", "").replace(" ", "")
    factor = 1.0
    if text.endswith("%"):
        text = text[:-1]
    for suffix in UNIT_SUFFIXES.get(field.unit or "", ()):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    else:
        if field.unit == "万元" and text.endswith("元") and _NUMBER.match(text[:-1]):
            # typed in yuan although the column is in 10,000 yuan
            text, factor = text[:-1], 1 / 10_000
    if not _NUMBER.match(text):
        raise _fail("type", f"“{_text(raw)}”不是有效数字", f"{_text(raw)!r} is not a number")
    return float(text) * factor


def clean_cell(field: Field, raw: object) -> object:
    """The clean value of one cell for ``field``, or ``None`` when empty.

    Raises ``CleanError`` naming the rule and the reason in Chinese and English.
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        text = ""
    elif isinstance(raw, date | datetime):
        raise _fail("type", "不应为日期", "must not be a date")
    else:
        text = _text(raw)
    if text == "":
        if field.required:
            raise _fail("required", "必填项为空", "required value is empty")
        return None
    if text in PLACEHOLDERS:
        raise _fail(
            "placeholder",
            f"占位符“{text}”不是有效值,请填写实际数值",
            f"placeholder {text!r} is not a value: fill in the real figure",
        )
    kind = field.type
    if kind == "unit_code":
        if not (len(text) == 12 and text.isdigit()):
            raise _fail("type", f"“{text}”不是12位代码", f"{text!r} is not a 12-digit code")
        return text
    if kind == "text":
        return text
    if kind == "enum":
        if text in field.values:
            return text
        for code, label in field.values.items():
            if text == label or text.lower() == code.lower():
                return code
        allowed = "、".join(field.values.values())
        raise _fail(
            "type",
            f"“{text}”不在允许值内({allowed})",
            f"{text!r} is not one of {', '.join(field.values)}",
        )
    if kind == "boolean":
        lowered = text.lower()
        if lowered in TRUE_WORDS:
            return 1
        if lowered in FALSE_WORDS:
            return 0
        raise _fail("type", f"“{text}”应为“是”或“否”", f"{text!r} must be yes or no")
    number = _number(field, raw)
    if kind == "integer":
        if not number.is_integer():
            raise _fail("type", f"“{text}”应为整数", f"{text!r} must be a whole number")
        return int(number)
    return number
