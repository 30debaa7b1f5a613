"""A live progress bar (rich) for discovery and papers, with rate and ETA."""

from __future__ import annotations

from typing import Any

from rich.progress import Progress

from ccpapers.progress import live_bar


class CrawlProgress:
    def __init__(self, enabled: bool = True, console: Any = None) -> None:
        self.enabled = enabled
        self._progress: Progress | None = None
        self._console = console
        self._discovery: Any = None
        self._papers: Any = None

    def __enter__(self) -> CrawlProgress:
        if self.enabled:
            self._progress = live_bar(self._console)
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)  # type: ignore[arg-type]

    def start_discovery(self, windows: int) -> None:
        if self._progress is not None:
            self._discovery = self._progress.add_task("discover", total=windows, info="")

    def advance_discovery(self, refs: int) -> None:
        if self._progress is not None and self._discovery is not None:
            self._progress.update(self._discovery, advance=1, info=f"{refs} references")

    def start_papers(self, total: int) -> None:
        if self._progress is not None:
            self._papers = self._progress.add_task("papers", total=total, info="")

    def advance_papers(self, kept: int, requests: int) -> None:
        if self._progress is not None and self._papers is not None:
            self._progress.update(self._papers, advance=1, info=f"kept {kept}, {requests} requests")
