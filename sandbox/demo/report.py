"""The demo's report: one row per flow, the consistency checks of each app part, a verdict."""

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StepResult:
    flow: str
    happened: str
    passed: bool
    latency_s: float | None = None


@dataclass(frozen=True)
class Check:
    what: str
    passed: bool
    detail: str


@dataclass
class DemoReport:
    steps: list[StepResult] = field(default_factory=list)
    # Per app part, its title ("Kayako") and its consistency checks against GHL.
    check_sections: list[tuple[str, list[Check]]] = field(default_factory=list)
    # (command line, what it printed): the operator CLI's view of the stack after the scenario.
    operator_views: list[tuple[str, str]] = field(default_factory=list)

    @property
    def checks(self) -> list[Check]:
        return [check for _, checks in self.check_sections for check in checks]

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.passed for s in self.steps) and all(c.passed for c in self.checks)

    def failed(self) -> list[str]:
        return [s.flow for s in self.steps if not s.passed] + [c.what for c in self.checks if not c.passed]

    def render(self) -> str:
        rows = [
            (
                s.flow,
                short(s.happened, 100),
                "ok" if s.passed else "FAILED",
                "-" if s.latency_s is None else f"{s.latency_s:.2f}s",
            )
            for s in self.steps
        ]
        out = _table(("flow", "what happened", "result", "latency"), rows)
        for title, section in self.check_sections:
            checks = [(c.what, "ok" if c.passed else "FAILED", short(c.detail, 100)) for c in section]
            out += f"\n\nconsistency (GHL vs {title})\n" + _table(("check", "result", "detail"), checks)
        verdict = "all flows and checks passed" if self.ok else "FAILED: " + "; ".join(self.failed())
        for command, printed in self.operator_views:
            out += f"\n\n$ {command}\n{printed.rstrip()}"
        return f"{out}\n\n{verdict}"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), line, *(fmt.format(*r) for r in rows)])


class StepFailed(Exception):
    """The step's effect did not happen; the message says what was seen instead."""


def short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
