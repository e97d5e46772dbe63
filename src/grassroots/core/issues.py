"""A validation issue's states, what a steward's action does to them, and their labels."""

from __future__ import annotations

STATES = ("open", "waived", "rejected", "resolved")
# each state as people read it: (Chinese, English)
STATE_LABELS = {
    "open": ("待处理", "open"),
    "waived": ("已豁免", "waived"),
    "rejected": ("已退回", "rejected"),
    "resolved": ("已解决", "resolved"),
}
BLOCKING_STATES = ("open", "rejected")
TRANSITIONS = {
    "waive": ({"open"}, "waived"),
    "reject": ({"open"}, "rejected"),
    "reopen": ({"waived", "rejected"}, "open"),
}
