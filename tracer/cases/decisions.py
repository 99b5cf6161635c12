"""Analyst decisions of a case file (`[[decisions]]`): what the analyst decided about one address, and why.

`endpoint` (with `category` and `label`): stop there as that service; `follow`: expand although
labelled or service-like; `thief`: treat as thief-controlled (a thief seed); `exclude`: not part of
the laundering — taint stops there and is counted in the `excluded` bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracer.core.models import Category, Label

ACTIONS = ("endpoint", "follow", "thief", "exclude")
DECISION_SOURCE = "analyst-decision"
#: The category an `exclude` decision gives its address (an endpoint whose taint is booked as excluded).
EXCLUDED_NAME = "excluded by the analyst"


@dataclass(frozen=True, slots=True)
class Decision:
    chain: str
    address: str
    action: str
    reason: str
    category: str = ""
    label: str = ""

    def as_label(self) -> Label | None:
        """The label this decision puts on its address (None for follow and thief: no endpoint)."""
        if self.action == "endpoint":
            return Label(
                self.chain,
                self.address,
                Category(self.category),
                self.label,
                source=DECISION_SOURCE,
                source_words=self.reason,
            )
        if self.action == "exclude":
            return Label(
                self.chain,
                self.address,
                Category.OTHER_SERVICE,
                EXCLUDED_NAME,
                source=f"{DECISION_SOURCE}:exclude",
                source_words=self.reason,
            )
        return None

    def summary(self) -> dict[str, str]:
        doc = {"chain": self.chain, "address": self.address, "action": self.action, "reason": self.reason}
        if self.action == "endpoint":
            doc.update(category=self.category, label=self.label)
        return doc


def is_excluded(label: Label | None) -> bool:
    return label is not None and label.source == f"{DECISION_SOURCE}:exclude"
