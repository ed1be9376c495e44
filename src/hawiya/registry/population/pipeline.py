"""The batches of a load, built either here or, for a large load, in a child process.

A large load keeps two cores busy: one builds the rows (the generator is pure Python), the other
writes them (the driver's COPY or executemany, and the database). The child runs the same
`PopulationBuilder` with the same seed and sends its batches in order, so the register is the
same value for value as when they are built here. It never touches the database: it is forked
before it is given any work and leaves with `os._exit`, so it closes nothing of the parent's.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Final, Literal

from .generator import PopulationBuilder, _Batch

# Batches waiting to be written, at most: bounds the memory a slow writer lets pile up
# (a batch of PERSONS_PER_WRITE persons is a few MB).
QUEUED_BATCHES: Final = 8
# How long the parent waits for the next batch before it checks the child is still alive.
_POLL_SECONDS: Final = 5.0

Kind = Literal["generated", "demo"]


@dataclass(frozen=True)
class _Done:
    pass


@dataclass(frozen=True)
class _Failed:
    traceback: str


class GeneratorFailed(RuntimeError):
    """The child process building the rows failed; the message holds its traceback."""


def built_here(builder: PopulationBuilder, persons: int, demo: bool) -> Iterator[tuple[Kind, _Batch]]:
    """The batches, built in this process as they are asked for."""
    for batch in builder.batches(persons):
        yield "generated", batch
    if demo:
        yield "demo", builder.demo_batch()


def _child(builder: PopulationBuilder, persons: int, demo: bool, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    try:
        for item in built_here(builder, persons, demo):
            out.put(item)
        out.put(_Done())
    except BaseException:  # everything goes back to the parent, which raises it
        out.put(_Failed(traceback.format_exc()))


def built_in_child(builder: PopulationBuilder, persons: int, demo: bool) -> Iterator[tuple[Kind, _Batch]]:
    """The same batches, built by a forked child process while this one writes the previous ones."""
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = context.Queue(maxsize=QUEUED_BATCHES)  # type: ignore[type-arg]
    child: BaseProcess = context.Process(
        target=_child, args=(builder, persons, demo, out), name="hawiya-population", daemon=True
    )
    child.start()
    try:
        while True:
            try:
                item = out.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not child.is_alive():
                    raise GeneratorFailed(
                        f"the row builder stopped without a word (exit {child.exitcode})"
                    ) from None
                continue
            if isinstance(item, _Done):
                break
            if isinstance(item, _Failed):
                raise GeneratorFailed(f"the row builder failed:\n{item.traceback}")
            yield item
        child.join()
    finally:
        # The parent failed (a constraint, a lost connection) or finished: never leave the child.
        if child.is_alive():
            child.terminate()
            child.join()
        out.close()
        out.cancel_join_thread()
