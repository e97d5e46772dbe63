"""What one demo run wrote: ``DemoSummary``, the counts ``generate_demo`` returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DemoSummary:
    periods: list[str]
    counties: int
    townships: int
    villages: int  # distinct villages in the registers written (every version counted once)
    files: int  # submission files (registers not counted)
    scale: str = "seeds"
    registers: int = 0
    village_rows: int = 0  # rows over all village_annual files
    csv_files: int = 0
    seconds: float = 0.0
    landing: str = ""
    per_period: dict[str, dict[str, int]] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"demo ({self.scale}) {', '.join(self.periods) or 'no period'}: "
            f"{self.counties:,} counties, {self.townships:,} townships, {self.villages:,} villages "
            f"({self.village_rows:,} village rows), {self.files:,} submission files "
            f"({self.csv_files:,} CSV) and {self.registers:,} registers in {self.seconds:.1f} s"
            + (f" -> {self.landing}" if self.landing else "")
        )
