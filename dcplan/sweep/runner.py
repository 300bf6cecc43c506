"""Run a sweep's scenarios as independent solves: in a local process pool (one process per core
by default) or, given a scheduler address, on an existing Dask distributed cluster, which
submits the same pure function. Results are recorded as they come; a scenario that fails,
times out or takes its worker down is recorded with its reason and the sweep goes on."""

from __future__ import annotations

import multiprocessing
import os
import select
import socket
import threading
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from dcplan.errors import InputError, Problem
from dcplan.extras import require
from dcplan.outfolder import FolderLock
from dcplan.sweep.expand import ScenarioSet, load_scenarios
from dcplan.sweep.scenario import ScenarioTask, run_scenario
from dcplan.sweep.store import DONE, WITH_PLAN, ResultStore

CONNECT_TIMEOUT_S = 10


@dataclass
class SweepProgress:
    total: int
    done: int  # scenarios with a result, earlier ones included
    running: int
    failed: int  # results without a plan
    eta_s: float | None  # None until a scenario of this run has finished


@dataclass
class SweepRun:
    scenarios: ScenarioSet
    outdir: Path
    rows: list[dict]  # sorted by scenario id
    ran: int  # scenarios solved in this run
    reused: int  # finished scenarios kept from an earlier run
    stale: int  # earlier results dropped because the base inputs changed

    @property
    def statuses(self) -> Counter:
        return Counter(row["status"] for row in self.rows)

    @property
    def finished(self) -> bool:
        """Every scenario has a final outcome (nothing to retry)."""
        return len(self.rows) == len(self.scenarios.scenarios) and all(r["status"] in DONE for r in self.rows)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_sweep(path: Path | str, outdir: Path | str, workers: int | None = None, scheduler: str | None = None,
              progress: Callable[[SweepProgress], None] | None = None) -> SweepRun:
    """Run (or resume) the sweep in ``path``, writing into ``outdir``. ``workers``: local pool
    size (default: the cores); ``scheduler``: a Dask scheduler address such as tcp://host:8786.

    Raises :class:`InputError` for an invalid sweep, base program or value, before any solve.
    """
    if scheduler and workers:
        raise InputError([Problem("command line", None, "--workers", "the Dask cluster has its own "
                                  "workers; give --workers or --scheduler, not both")])
    scenarios = load_scenarios(Path(path))
    with FolderLock(Path(outdir)):
        return _run(scenarios, Path(outdir), workers, scheduler, progress)


def _run(scenarios: ScenarioSet, outdir: Path, workers, scheduler, progress) -> SweepRun:
    axes = [a.path for a in scenarios.axes]
    store = ResultStore(Path(outdir), axes, scenarios.digest, {s.id for s in scenarios.scenarios})
    spec = scenarios.sweep.spec
    done = [s.id for s in scenarios.scenarios if store.is_done(s.id)]  # then also those run now
    total, reused = len(scenarios.scenarios), len(done)
    reused_ids = set(done)
    set_at = tuple(scenarios.set_at.items())
    tasks = {s.id: (s, ScenarioTask(s.id, str(scenarios.sweep.base_path), s.overrides, spec.time_limit_s,
                                     spec.mip_gap, set_at)) for s in scenarios.scenarios if s.id not in reused_ids}
    backend = _Dask(scheduler) if scheduler else _LocalPool(workers or default_workers())
    started = time.perf_counter()

    def report():
        if progress:
            ran = len(done) - reused
            failed = sum(store.rows[sid]["status"] not in WITH_PLAN for sid in done)
            eta = (time.perf_counter() - started) / ran * (total - len(done)) if ran else None
            progress(SweepProgress(total, len(done), backend.running, failed, eta))

    try:
        report()
        for task, outcome in backend.run([t for _, t in tasks.values()], report):
            scenario = tasks[task.id][0]
            if isinstance(outcome, BaseException):
                fields, plan = _failure(outcome), None
            else:
                fields, plan = outcome
            store.record({"scenario": scenario.id, **scenario.values, **fields}, plan)
            done.append(scenario.id)
            report()
    finally:
        store.flush()
    rows = sorted(store.rows.values(), key=lambda r: r["scenario"])
    return SweepRun(scenarios, Path(outdir), rows, len(done) - reused, reused, store.stale)


class _LocalPool:
    """A process pool on this machine (forkserver where there is one: dcplan is imported once,
    not per worker). A worker that dies breaks the whole pool, taking down every scenario in
    flight; those run again in a fresh pool, each alone, so a second crash is its own."""

    CRASHES = 2

    def __init__(self, workers: int):
        self.workers, self.running = max(1, workers), 0

    def run(self, tasks: list[ScenarioTask], tick) -> Iterator[tuple[ScenarioTask, object]]:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if context.get_start_method() == "forkserver":
            context.set_forkserver_preload(["dcplan.sweep.scenario"])
        queue, crashes, pool, in_flight = deque(tasks), Counter(), None, {}
        try:
            while queue or in_flight:
                if pool is None:
                    pool = ProcessPoolExecutor(min(self.workers, len(queue)), mp_context=context,
                                               initializer=exit_with, initargs=(os.getpid(),))
                while queue and len(in_flight) < self.workers and not (in_flight and crashes[queue[0].id]):
                    task = queue.popleft()
                    in_flight[pool.submit(run_scenario, task)] = task
                    if crashes[task.id]:
                        break
                self.running = len(in_flight)
                tick()
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                broken = False
                for future in finished:
                    task = in_flight.pop(future)
                    self.running = min(self.workers, len(in_flight) + len(queue))  # the next starts at once
                    error = future.exception()
                    if isinstance(error, BrokenProcessPool):
                        broken = True
                        crashes[task.id] += 1
                        if crashes[task.id] < self.CRASHES:
                            queue.appendleft(task)
                            continue
                    yield task, error if error is not None else future.result()
                if broken:
                    pool.shutdown(wait=True)
                    pool = None
        finally:
            if pool is not None:
                if in_flight:  # stopped (Ctrl-C) with scenarios running: their workers go now, or
                    # the executor's exit handler waits for them while they wait for the sweep to end
                    for process in list((getattr(pool, "_processes", None) or {}).values()):
                        process.terminate()
                pool.shutdown(wait=not in_flight, cancel_futures=True)


def exit_with(pid: int) -> None:
    """Make this pool worker exit as soon as process ``pid`` (the sweep) has ended, however it
    ended: a killed sweep leaves no worker behind, and then no forkserver or resource tracker,
    which live only as long as some process holds their pipes."""

    def watch():
        if hasattr(os, "pidfd_open"):
            try:
                fd = os.pidfd_open(pid)
            except OSError:  # gone already, or pidfd not supported: fall back to polling
                fd = None
            if fd is not None:
                select.select([fd], [], [])  # readable once the process has ended
                os._exit(1)
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
            time.sleep(1.0)

    threading.Thread(target=watch, name="exit-with-sweep", daemon=True).start()


class _Dask:
    """An existing Dask distributed cluster. Dask itself retries a scenario whose worker died,
    and gives up with KilledWorker after its `allowed-failures`."""

    def __init__(self, address: str):
        require("running on a Dask cluster (--scheduler)", "distributed")
        import distributed
        self.distributed, self.address, self.running = distributed, address, 0
        _check_reachable(address)
        try:
            self.client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError([Problem("command line", None, "--scheduler",
                                      f"cannot reach the Dask scheduler at {address}: {exc}")]) from None

    def run(self, tasks: list[ScenarioTask], tick) -> Iterator[tuple[ScenarioTask, object]]:
        client = self.client
        try:
            futures = {client.submit(run_scenario, task, pure=False): task for task in tasks}
            self.running = min(len(futures), sum(client.nthreads().values()))
            tick()
            for future in self.distributed.as_completed(futures, loop=client.loop):
                task = futures.pop(future)
                self.running = min(len(futures), sum(client.nthreads().values()))
                try:
                    outcome = future.result()
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # the scenario's outcome (a cancelled future's is one)
                    outcome = exc
                future.release()
                yield task, outcome
        finally:
            client.close()


def _check_reachable(address: str) -> None:
    """A malformed or unreachable scheduler address as an input error, before a Dask Client is
    made: a Client that fails to connect hangs on its way out and prints a traceback."""
    from distributed.comm.addressing import parse_address, parse_host_port

    def problem(message: str) -> InputError:
        return InputError([Problem("command line", None, "--scheduler", message)])

    try:
        protocol, location = parse_address(address)
        if protocol not in ("tcp", "tls"):
            return  # other transports (ucx, inproc) are left to Dask
        host, port = parse_host_port(location)
    except ValueError as exc:
        raise problem(f"'{address}' is not a scheduler address ({exc}); expected tcp://HOST:PORT") from None
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise problem(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _failure(error: BaseException) -> dict:
    """The row fields of a scenario that raised instead of returning."""
    if isinstance(error, BrokenProcessPool):
        return {"status": "crashed", "reason": f"the worker process died running this scenario "
                f"{_LocalPool.CRASHES} times (out of memory, or killed; or, run from a Python script, the "
                "script lacks `if __name__ == \"__main__\":` and ran again in each worker)"}
    if type(error).__name__ == "KilledWorker":  # Dask's, after its allowed-failures
        return {"status": "crashed", "reason": f"Dask workers died running this scenario: {error}"}
    return {"status": "error", "reason": f"internal error: {type(error).__name__}: {error}"}
