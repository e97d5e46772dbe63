"""Cell cleaning: every typed cell becomes a clean value or a precise error.

Submissions are typed by hand: thousands separators, full-width digits and
punctuation, units in the cell ("15万", "200平方米", "45岁"), percent signs, yes/no in
Chinese or English, placeholders like "x" or "—", dates as 2021-03-05, 2021/3/5,
2021.3.5 or 2021年3月5日 (or a workbook's date cell). One function per field type;
nothing is guessed silently: a cell that is not exactly a value is an error that
names the rule, in Chinese and English.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from grassroots.catalog import DATE_FORMAT_ZH, Field

# Compared after NFKC normalisation and lower-casing.
PLACEHOLDERS = {
    "x", "xx", "xxx", "—", "——", "-", "--", "---", "/", "//", "无", "空", "暂无", "n/a", "na",
    "?", "??", "…", "...", "略", "不详", "待定", "*", "**",
}
TRUE_WORDS = {"是", "yes", "y", "true", "1", "有", "√", "✓", "t", "已派驻", "已建"}
FALSE_WORDS = {"否", "no", "n", "false", "0", "没有", "无", "×", "✗", "f", "未派驻", "未建"}
# Units a submitter may type after a number, by the field's declared unit; the value is
# multiplied by the factor to reach the declared unit.
UNIT_SUFFIXES: dict[str, tuple[tuple[str, Decimal], ...]] = {
    "万元": (("万元", Decimal(1)), ("万", Decimal(1)), ("元", Decimal("0.0001"))),
    "平方米": (("平方米", Decimal(1)), ("平米", Decimal(1)), ("㎡", Decimal(1)), ("m2", Decimal(1)), ("m²", Decimal(1))),
    "岁": (("周岁", Decimal(1)), ("岁", Decimal(1))),
    "人": (("人", Decimal(1)), ("名", Decimal(1))),
    "人次": (("人次", Decimal(1)),),
    "个": (("个", Decimal(1)),),
    "星": (("颗星", Decimal(1)), ("星级", Decimal(1)), ("星", Decimal(1))),
    "期": (("期", Decimal(1)),),
    "次": (("次", Decimal(1)),),
    "项": (("项", Decimal(1)),),
    "件": (("件", Decimal(1)),),
    "支": (("支", Decimal(1)),),
    "处": (("处", Decimal(1)),),
    "%": (("%", Decimal(1)),),
}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
# A date as people type it: 2021-03-05, 2021/3/5, 2021.3.5, 2021年3月5日 (after NFKC, so
# full-width digits too); the separators of one date agree.
_DATE = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})$")
_DATE_ZH = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$")
# "800余", "x多", "约15", "近20", "15左右": hedged figures a report may print
_HEDGE_PREFIXES = ("大约", "将近", "约", "近")
_HEDGE_SUFFIXES = ("左右", "以上", "多", "余")


def _unhedged(compact: str) -> str | None:
    """The figure inside a hedged one ("800余" -> "800"), or None if not hedged."""
    for prefix in _HEDGE_PREFIXES:
        if compact.startswith(prefix) and len(compact) > len(prefix):
            return compact[len(prefix):]
    for suffix in _HEDGE_SUFFIXES:
        if compact.endswith(suffix) and len(compact) > len(suffix):
            return compact[: -len(suffix)]
    return None


@dataclass(frozen=True)
class CellError:
    rule: str  # "required", "placeholder", "type"
    message_zh: str
    message_en: str


class CleanError(ValueError):
    def __init__(self, error: CellError) -> None:
        super().__init__(error.message_en)
        self.error = error


def normalise_text(raw: object) -> str:
    """Full-width digits and punctuation to ASCII, surrounding blanks dropped."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw)
    if text.isascii():
        # NFKC leaves ASCII as it is and the replacements below are not ASCII
        return text.strip()
    text = unicodedata.normalize("NFKC", text)
    return text.replace("\u3000", " ").replace("，", ",").replace("。", ".").strip()


def _fail(rule: str, zh: str, en: str) -> CleanError:
    return CleanError(CellError(rule, zh, en))


def _parse_number(field: Field, raw: object, text: str) -> float:
    if isinstance(raw, bool):
        raise _fail("type", f"“{text}”不是数字", f"{text!r} is not a number")
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise _fail("type", "不是有效数字", "not a finite number")
        return float(raw)
    compact = re.sub(r"\s+", "", text)
    factor = Decimal(1)
    for suffix, suffix_factor in UNIT_SUFFIXES.get(field.unit or "", ()):
        if compact.endswith(suffix) and len(compact) > len(suffix):
            compact, factor = compact[: -len(suffix)], suffix_factor
            break
    if _GROUPED.match(compact):
        compact = compact.replace(",", "")
    core = _unhedged(compact)
    if core is not None:
        if core.lower().strip("x") == "" or core.lower() in PLACEHOLDERS:
            raise _fail(
                "placeholder",
                f"占位符“{text}”不是有效值,请填写实际数值",
                f"placeholder {text!r} is not a value: fill in the real figure",
            )
        raise _fail(
            "approximate",
            f"“{text}”是约数,请填写确切数值",
            f"{text!r} is an approximation: fill in the exact figure",
        )
    if not _NUMBER.match(compact):
        unit = f"(单位:{field.unit})" if field.unit else ""
        raise _fail(
            "type",
            f"“{text}”不是确切的数字{unit}",
            f"{text!r} is not an exact number" + (f" (unit: {field.unit})" if field.unit else ""),
        )
    # Decimal, so that "3元" is exactly 0.0003 万元, not 0.00030000000000000003
    return float(Decimal(compact) * factor)


def _parse_date(raw: object, text: str) -> date:
    """A date cell: a workbook's date (midnight, if it has a time), or a text in one of
    the forms people type; never a bare number (a CSV's 44260 may be a serial of either
    of Excel's epochs, or no date at all)."""
    if isinstance(raw, datetime):
        if raw.time() != time(0):
            raise _fail("type", f"“{raw:%Y-%m-%d %H:%M}”含时刻,应只填日期({DATE_FORMAT_ZH})",
                        f"{raw:%Y-%m-%d %H:%M} has a time of day: enter the date alone "
                        "(YYYY-MM-DD)")
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, time):
        raise _fail("type", f"“{raw}”是时刻,不是日期({DATE_FORMAT_ZH})",
                    f"{raw} is a time of day, not a date (YYYY-MM-DD)")
    compact = text.replace(" ", "")
    match = _DATE.match(compact)
    parts = (match.group(1), match.group(3), match.group(4)) if match else None
    if parts is None:
        match = _DATE_ZH.match(compact)
        parts = match.groups() if match else None
    if parts is None:
        raise _fail("type", f"“{text}”不是日期,应为{DATE_FORMAT_ZH}",
                    f"{text!r} is not a date: write YYYY-MM-DD, e.g. 2021-03-05")
    try:
        return date(*map(int, parts))
    except ValueError:
        raise _fail("type", f"“{text}”不是有效日期(该月没有这一天)",
                    f"{text!r} is not a valid date (no such day in that month)") from None


def clean_cell(field: Field, raw: object) -> object:
    """The clean value of one cell for ``field``, or ``None`` when empty and optional.

    Raises ``CleanError`` naming the rule and the reason in Chinese and English.
    """
    if field.type == "date" and isinstance(raw, datetime | date | time):
        return _parse_date(raw, "")
    if isinstance(raw, datetime | date | time):
        raise _fail("type", "不应为日期或时间", "must not be a date or time")
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        text = ""
    else:
        text = normalise_text(raw)
    if text == "":
        if field.required:
            raise _fail("required", "必填项为空", "required value is empty")
        return None
    lowered = text.lower()
    kind = field.type
    if kind == "boolean":
        if lowered in TRUE_WORDS:
            return 1
        if lowered in FALSE_WORDS:
            return 0
    if lowered in PLACEHOLDERS or lowered.strip("x") == "":
        raise _fail(
            "placeholder",
            f"占位符“{text}”不是有效值,请填写实际数值",
            f"placeholder {text!r} is not a value: fill in the real figure",
        )
    if kind == "boolean":
        raise _fail("type", f"“{text}”应为“是”或“否”", f"{text!r} must be yes or no")
    if kind == "unit_code":
        if not (len(text) == 12 and text.isascii() and text.isdigit()):
            raise _fail("type", f"“{text}”不是12位代码", f"{text!r} is not a 12-digit code")
        return text
    if kind == "text":
        return text
    if kind == "date":
        return _parse_date(raw, text)
    if kind == "enum":
        for code, label in field.values.items():
            if lowered == code.lower() or text == label:
                return code
        allowed = "、".join(field.values.values())
        raise _fail(
            "type",
            f"“{text}”不在允许值内({allowed})",
            f"{text!r} is not one of {', '.join(field.values)}",
        )
    number = _parse_number(field, raw, text)
    if kind == "integer":
        if not number.is_integer():
            raise _fail("type", f"“{text}”应为整数", f"{text!r} must be a whole number")
        return int(number)
    return number


# Types whose equal values always clean alike (given the field), so an outcome can be
# remembered by (type, value). Floats are looked up only for fields that are not numbers:
# 0.0 and -0.0 are equal keys but number fields keep the sign.
_REMEMBERED_TYPES = frozenset({str, int, float, bool})
_NUMERIC_KINDS = frozenset({"integer", "number"})
# Distinct values remembered per field: columns of names or codes never repeat, so past
# this the cleaner stops remembering rather than grow with the file.
REMEMBER_LIMIT = 20_000
_EXACT_INT = 2**53  # ints beyond this do not survive float() exactly; leave them to clean_cell


class FieldCleaner:
    """``clean_cell`` for one field, called once per cell of a column, with the same
    values and the same errors.

    Returns are typed by hand and repeat ("是", "否", "0", small counts): each distinct
    value is cleaned once and its outcome (value or ``CellError``) reused. Numbers that
    the reader already typed skip the text round trip on number fields.
    """

    __slots__ = ("field", "_numeric", "_integer", "_code", "_outcomes", "_clean_texts")

    def __init__(self, field: Field) -> None:
        self.field = field
        self._numeric = field.type in _NUMERIC_KINDS
        self._integer = field.type == "integer"
        self._code = field.type == "unit_code"
        self._outcomes: dict[tuple[type, object], object] = {}
        # the texts that cleaned without error, keyed by the text alone: a str never equals
        # a cell of another type, so ``clean_column`` can look up any cell here
        self._clean_texts: dict[str, object] = {}

    def clean_column(self, raws: Sequence[object]) -> tuple[list[object], list[tuple[int, CellError]]]:
        """``self`` over a column of cells: the clean values (None where a cell failed) and
        each failing cell's index and error.

        A column of finite floats (a workbook's numbers) is taken whole, and texts cleaned
        before are looked up, without a call per cell: a national intake cleans ~18 M
        cells."""
        if self._code and raws and all(
                type(raw) is str and len(raw) == 12 and raw.isascii() and raw.isdigit()
                for raw in raws):
            # a column of codes as they should be: each is its own clean value (every code
            # differs, so none was cleaned before; a national intake has 488 k of them)
            return list(raws), []
        if self._numeric and raws and set(map(type, raws)) == {float}:
            total = sum(raws)
            if total - total == 0.0:  # a finite sum: no NaN or infinity among them
                if not self._integer:
                    return list(raws), []
                if all(map(float.is_integer, raws)):
                    return list(map(int, raws)), []
        known = self._clean_texts.get
        cleaned = [known(raw, _UNSEEN) for raw in raws]
        failures: list[tuple[int, CellError]] = []
        index = -1
        try:
            while True:
                index = cleaned.index(_UNSEEN, index + 1)
                try:
                    cleaned[index] = self(raws[index])
                except CleanError as exc:
                    cleaned[index] = None
                    failures.append((index, exc.error))
        except ValueError:  # no unseen cell left
            pass
        return cleaned, failures

    def __call__(self, raw: object) -> object:
        kind = type(raw)
        if self._numeric and (kind is float or kind is int):
            # inlined _typed_number: this is the path of most workbook cells
            if kind is float and raw - raw == 0.0:  # finite (inf - inf and nan - nan are nan)
                if not self._integer:
                    return raw
                if raw.is_integer():
                    return int(raw)
            else:
                number = self._typed_number(raw)
                if number is not None:
                    return number
            return clean_cell(self.field, raw)
        if kind not in _REMEMBERED_TYPES:
            return clean_cell(self.field, raw)
        key = (kind, raw)
        outcome = self._outcomes.get(key, _UNSEEN)
        if outcome is _UNSEEN:
            try:
                outcome = clean_cell(self.field, raw)
            except CleanError as exc:
                outcome = exc.error
            if len(self._outcomes) < REMEMBER_LIMIT:
                self._outcomes[key] = outcome
                if kind is str and not isinstance(outcome, CellError):
                    self._clean_texts[raw] = outcome
        if isinstance(outcome, CellError):
            raise CleanError(outcome)
        return outcome

    def _typed_number(self, raw: float | int) -> float | int | None:
        """The clean value of a number the reader typed, or None to let clean_cell decide
        (NaN, infinities, huge ints, fractions in integer fields: the rare and error cases)."""
        if type(raw) is int:
            if not -_EXACT_INT <= raw <= _EXACT_INT:
                return None
            number = float(raw)
        elif math.isfinite(raw):
            number = raw
        else:
            return None
        if self._integer:
            return int(number) if number.is_integer() else None
        return number


_UNSEEN = object()
