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
# each severity as people read it: (Chinese, English)
SEVERITY_LABELS = {"error": ("错误", "error"), "warning": ("警告", "warning")}
BLOCKING_STATES = ("open", "rejected")
# each steward's action as people read it: (Chinese, English)
STEWARD_ACTION_LABELS = {"waive": ("豁免", "waive"), "reject": ("退回", "reject"),
                         "reopen": ("重新打开", "reopen")}
TRANSITIONS = {
    "waive": ({"open"}, "waived"),
    "reject": ({"open"}, "rejected"),
    "reopen": ({"waived", "rejected"}, "open"),
}

# The rule names (an id's last part, <form>.<field>.<name>) of the outlier warnings: a
# value far from its unit's own earlier values, or from its county's units this period.
# Sign-off lists the issues of these rules first.
OUTLIER_RULES = ("outlier_history", "outlier_peers")


def is_outlier(rule: str) -> bool:
    """Whether a rule id (``village_annual.party_members.outlier_peers``) is an outlier's."""
    return rule.rsplit(".", 1)[-1] in OUTLIER_RULES
