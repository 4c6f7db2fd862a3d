"""What a digest run did: :class:`RunReport`, whose ``line()`` the CLI and the job log print."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunReport:
    """What a run did; ``line()`` is what the CLI and the job log print."""

    period: str = ""
    due: int = 0
    sent: int = 0
    empty: int = 0
    deferred: int = 0
    failed: int = 0
    bouncing: int = 0  # addresses marked bouncing by this run
    interrupted: int = 0  # rows an earlier run left in flight (not sent again)
    uncertain: int = 0  # messages sent by this run that got no answer (not sent again)
    claimed_elsewhere: int = 0  # fresh claims of another run (maybe still going): left to it
    dry_run: bool = False
    note: str = ""
    stopped: str = ""  # why the run stopped early (the mail server is unreachable)
    render_s: float = 0.0  # CPU seconds spent choosing and rendering
    smtp_s: float = 0.0  # CPU seconds spent building messages and talking SMTP
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.note:
            return self.note
        verb = "would send" if self.dry_run else "sent"
        done = self.due if self.dry_run else self.sent
        text = f"{self.period}: {verb} {done}, {self.empty} empty (not sent)"
        if not self.dry_run:
            text += f", {self.deferred} deferred, {self.failed} failed"
        if self.bouncing:
            text += f", {self.bouncing} addresses now bouncing"
        if self.uncertain:
            text += f", {self.uncertain} uncertain (no answer after the message: not sent again)"
        if self.interrupted:
            text += f", {self.interrupted} interrupted by an earlier run (not sent again)"
        if self.claimed_elsewhere:
            text += (
                f", {self.claimed_elsewhere} claimed by another run under a minute ago"
                " (left to it; if it stopped, run again in a minute)"
            )
        if self.stopped:
            text += f"; stopped early: {self.stopped}"
        return text
