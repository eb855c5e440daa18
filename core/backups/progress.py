"""Progress bars for the operator commands (tqdm on stderr; silent when not a terminal)."""

from collections.abc import Callable
from typing import IO, Any

from tqdm import tqdm

ProgressFactory = Callable[..., Any]


def tqdm_progress(stream: IO[str]) -> ProgressFactory:
    """A ``progress(description, total)`` factory for the backup services.

    ``total`` is a byte count, or None when unknown (pg_dump's output): the bar then
    shows the bytes so far and the rate.
    """

    def make(description: str, total: int | None = None) -> "tqdm[Any]":
        # disable=None: no bar when stderr is not a terminal (cron, Celery, tests).
        return tqdm(
            total=total,
            desc=description,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=stream,
            disable=None,
            leave=False,
        )

    return make


def human_size(size: float) -> str:
    """``1536`` -> ``1.5 KiB``: sizes in summary lines."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def plain_stream(stream: Any) -> Any:
    """The raw stream under a command's ``self.stderr``: Django's wrapper styles every
    write to stderr as an error (red on a terminal), and a progress bar is not one."""
    return getattr(stream, "_out", stream)
