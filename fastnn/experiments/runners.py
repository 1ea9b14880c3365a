"""Running recipes: one run (``run``), and the three runners a sweep uses.

A recipe is named either by its registered name (``"xor-bp"``) or as
``"package.module:name"``: the module is imported first (in the parent and in
every worker), so recipes that live outside fastnn, e.g. in a project's own
package or a test module, run on every runner. The module must be importable
where the workers run (on ``sys.path`` / ``PYTHONPATH``).

Runners:

- ``InProcessRunner`` (the default) runs the runs one after another.
- ``ProcessRunner(workers)`` runs them in ``workers`` local processes
  (``concurrent.futures`` with the ``spawn`` start method). A worker that dies
  fails only the run that killed it; the sweep goes on in new processes.
- ``DaskRunner(scheduler)`` submits them to a Dask distributed cluster
  (``"tcp://host:port"``), or starts a local one on the loopback interface
  (``"local"``). Dask reschedules the runs of a worker that dies.

Workers never open the results file: each run's outcome comes back to the
parent, which alone writes. Each worker gets its share of the cores for
Numba's threads and for BLAS's and OpenMP's (``worker_env``), so that
workers x threads does not exceed the cores.
"""
import contextlib
import hashlib
import importlib
import multiprocessing.context
import os
import platform
import signal
import socket
import sys
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache

from . import registry
from .registry import Result
from .store import _check_result, dumps

TIMING_METRICS = ("wall_seconds", "compile_seconds")


# --------------------------------------------------------------------------
# recipes, parameters, configurations

def resolve_recipe(ref):
    """The Recipe named ``ref`` ("name" or "package.module:name")."""
    if isinstance(ref, registry.Recipe):
        return ref
    if not isinstance(ref, str):
        raise TypeError(f"recipe must be a str; got {type(ref).__name__} {ref!r}.")
    if ":" in ref:
        module, _, name = ref.partition(":")
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ValueError(f"recipe {ref!r}: cannot import module {module!r} ({err}).") from None
        return registry.get(name)
    return registry.get(ref)


def recipe_ref(recipe):
    """The string that names ``recipe`` in configurations."""
    if isinstance(recipe, registry.Recipe):
        module = getattr(recipe.func, "__module__", "")
        if module.startswith("fastnn.experiments.recipes"):
            return recipe.name
        return f"{module}:{recipe.name}"
    return recipe


def _describe(value):
    return f"{type(value).__name__} {value!r}"


def coerce_param(recipe, name, value, where=None):
    """``value`` checked against the type of the recipe's default for ``name``.

    bool defaults take bools; int defaults ints; float defaults ints or floats
    (converted to float, so 1 and 1.0 are the same run); str defaults strs;
    tuple and list defaults lists or tuples; a None default anything JSON can
    hold.
    """
    import numpy as np
    where = where or f"parameter {name!r} of recipe {recipe.name!r}"
    if name not in recipe.params:
        raise ValueError(f"recipe {recipe.name!r} has no parameter {name!r}; its parameters are "
                         f"{sorted(recipe.params)}.")
    default = recipe.params[name]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise TypeError(f"{where} must be a bool; got {_describe(value)}.")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{where} must be an int; got {_describe(value)}.")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{where} must be a float; got {_describe(value)}.")
        value = float(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise TypeError(f"{where} must be a str; got {_describe(value)}.")
    elif isinstance(default, (tuple, list)):
        if not isinstance(value, (tuple, list)):
            raise TypeError(f"{where} must be a list; got {_describe(value)}.")
        value = type(default)(registry.jsonable(v) for v in value)
    elif default is not None and not isinstance(value, type(default)):
        raise TypeError(f"{where} must be a {type(default).__name__}; got {_describe(value)}.")
    try:
        dumps(registry.jsonable(value))
    except (TypeError, ValueError):
        raise TypeError(f"{where} must be JSON-serialisable; got {_describe(value)}.") from None
    return value


def resolve_params(recipe, params):
    """All parameters of ``recipe``: defaults updated with checked ``params``."""
    out = dict(recipe.params)
    for name, value in params.items():
        out[name] = coerce_param(recipe, name, value)
    return out


# Seeds reach the models as scikit-learn's random_state, which takes [0, 2**32 - 1]
# (_validation.check_random_state_param): a larger seed would fail in the run.
MAX_SEED = 2**32 - 1


def check_seed(seed, name="seed"):
    """An int in [0, MAX_SEED]."""
    from .._validation import check_int
    return check_int(seed, name, low=0, high=MAX_SEED)


def configuration(ref, params, seed):
    """(run_id, canonical JSON) of one run: the id is a short hash of the JSON."""
    config = dumps({"recipe": ref, "params": {k: registry.jsonable(v) for k, v in params.items()},
                    "seed": int(seed)})
    return hashlib.sha256(config.encode()).hexdigest()[:12], config


@dataclass
class Task:
    """One run of a sweep."""
    run_id: str
    config: str
    recipe: str          # the recipe's reference (name or module:name)
    params: dict
    seed: int
    order: int = 0


# --------------------------------------------------------------------------
# executing one run (in the parent or in a worker)

@dataclass
class Outcome:
    """What one run sends back to the writer."""
    result: object = None          # Result, or None when the run failed
    error: str = ""
    attrs: dict = field(default_factory=dict)   # wall/compile seconds and provenance
    exception: object = field(default=None, repr=False, compare=False)  # in-process runs only

    def __getstate__(self):  # the exception object stays in the process that raised it
        state = dict(self.__dict__)
        state["exception"] = None
        return state


@lru_cache(maxsize=1)
def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@lru_cache(maxsize=1)
def git_commit():
    """The commit of the fastnn checkout this process imports, or ''."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    git = os.path.join(root, ".git")
    try:
        if os.path.isfile(git):                  # a worktree: "gitdir: PATH"
            with open(git) as fh:
                git = os.path.join(root, fh.read().split(":", 1)[1].strip())
        with open(os.path.join(git, "HEAD")) as fh:
            head = fh.read().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.split(":", 1)[1].strip()
        for base in (git, _common_dir(git)):
            path = os.path.join(base, ref)
            if os.path.exists(path):
                with open(path) as fh:
                    return fh.read().strip()
            packed = os.path.join(base, "packed-refs")
            if os.path.exists(packed):
                with open(packed) as fh:
                    for line in fh:
                        parts = line.split()
                        if len(parts) == 2 and parts[1] == ref:
                            return parts[0]
    except (OSError, IndexError):
        pass
    return ""


def _common_dir(git):
    try:
        with open(os.path.join(git, "commondir")) as fh:
            return os.path.join(git, fh.read().strip())
    except OSError:
        return git


def provenance():
    """Where and how a run ran: thread count, threading layer, CPU, platform, git commit."""
    import numba
    try:
        layer = numba.threading_layer()
    except ValueError:                # no parallel kernel has run yet
        layer = "unknown"
    return {"numba_threads": int(numba.get_num_threads()), "threading_layer": layer,
            "cpu": _cpu_model(), "platform": platform.platform(),
            "python": platform.python_version(), "host": socket.gethostname(),
            "git_commit": git_commit()}


class _CompileTimer:
    """Seconds spent getting Numba's compiled code: compiling, and loading it
    from the on-disk cache (the time under Numba's compiler lock, the
    ``numba:compiler_lock`` event). The ``numba:compile`` event covers the
    compiler only, so a process's first run of a cached kernel counted its
    load (0.1 s for xor-bp's trainer) as training time, with
    ``compile_seconds`` 0."""

    EVENT = "numba:compiler_lock"

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        from numba.core import event
        self._listener = event.TimingListener()
        event.register(self.EVENT, self._listener)
        return self

    def __exit__(self, *exc):
        from numba.core import event
        event.unregister(self.EVENT, self._listener)
        if self._listener.done:
            self.seconds = self._listener.duration
        return False


def execute(ref, params, seed, threads=None):
    """Run one recipe and return an ``Outcome``; never raises for a failing recipe,
    even one that calls ``sys.exit`` (SystemExit): only KeyboardInterrupt goes through.

    ``threads`` limits Numba's threads for this run (``numba.set_num_threads``).
    """
    import numba
    attrs = {}
    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        recipe = resolve_recipe(ref)
        timer = _CompileTimer()
        start = time.perf_counter()
        with timer:
            result = recipe.func(seed, **params)
        wall = time.perf_counter() - start
        if not isinstance(result, Result):
            raise TypeError(f"recipe {recipe.name!r} must return a Result; got {type(result).__name__}.")
        _check_result(result)
        result.metrics.setdefault("wall_seconds", wall)
        result.metrics.setdefault("compile_seconds", timer.seconds)
        attrs["wall_seconds"] = float(result.metrics["wall_seconds"])
        attrs["compile_seconds"] = float(result.metrics["compile_seconds"])
        attrs.update(provenance())
        return Outcome(result=result, attrs=attrs)
    except KeyboardInterrupt:  # Ctrl-C stops the sweep (in a worker, the parent stops it)
        raise
    except BaseException as err:  # a failed run is stored with its error; the sweep goes on
        attrs.update(provenance())
        tb = traceback.format_exception(type(err), err, err.__traceback__)
        return Outcome(error=_error_line(ref, err) + "\n" + "".join(tb[-6:]), attrs=attrs,
                       exception=err)


def _error_line(ref, err):
    """The first line of a failed run's error: the exception's type and message.

    SystemExit (``sys.exit(3)`` in a recipe) would otherwise read "SystemExit: 3";
    it is a failure of that run alone, not an exit of the sweep."""
    if isinstance(err, SystemExit):
        return (f"SystemExit: recipe {recipe_ref(ref)!r} called sys.exit({err.code!r}) (exit code "
                f"{err.code!r}); a recipe must return a Result or raise an exception.")
    return f"{type(err).__name__}: {err}"


def _dask_execute(ref, params, seed, threads=None):
    """``execute`` on a Dask worker: threads default to cores / the worker's threads."""
    if threads is None:
        try:
            from distributed import get_worker
            threads = max(1, _cores() // max(1, get_worker().state.nthreads))
        except (ImportError, ValueError, AttributeError):
            threads = None
    return execute(ref, params, seed, threads)


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def threads_per_worker(workers):
    """Numba threads for each of ``workers`` so that workers x threads <= cores."""
    return max(1, _cores() // max(1, workers))


def worker_env(threads):
    """The environment of a worker process with ``threads`` threads: Numba's, and
    those of the BLAS and OpenMP libraries (NumPy's, SciPy's, scikit-learn's),
    which read it when they load. Each would otherwise start a thread a core in
    every worker, and BLAS threads spin between calls: a sweep of rbm-digits,
    2 seeds on 2 workers on 2 cores, took 197 and 298 s, now 20 and 23 s."""
    n = str(threads)
    return {"NUMBA_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n,
            "OMP_NUM_THREADS": n}


def warm_up(ref):
    """Import the recipe's module and run its ``warmup`` (compiles and caches
    its kernels) in this process, so workers never race to write the cache."""
    from .._notice import quiet
    recipe = resolve_recipe(ref)
    if recipe.warmup is not None:
        with quiet():   # the callers say what compiles
            recipe.warmup()
    return recipe


def _warm_up_elsewhere(ref):
    try:
        warm_up(ref)
    except Exception:   # the warm-up in the parent reports it
        pass


# the most warm-up processes: each compiling process holds about 0.5 GB
WARM_UP_PROCESSES = 4


def warm_up_side_by_side(refs):
    """Run the warm-ups of the recipes ``refs`` first in worker processes, one a
    core (at most ``WARM_UP_PROCESSES``), side by side; then ``warm_up`` here
    finds their kernels in the disk cache. Numba compiles on one thread, so a
    new machine compiles several recipes' kernels (each 10-40 s) in about the
    time of the longest share instead of their sum; with a warm cache this
    costs the workers' start-up, a second or two. Only where at least two
    recipes have a warm-up and there are at least two cores. Returns the
    number of processes used (0: none)."""
    todo = [r for r in dict.fromkeys(refs) if resolve_recipe(r).warmup is not None]
    n = min(len(todo), _cores(), WARM_UP_PROCESSES)
    if n < 2:
        return 0
    pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(None, os.getpid()))
    try:
        for future in [pool.submit(_warm_up_elsewhere, ref) for ref in todo]:
            future.exception()   # wait; it cannot raise
    except BaseException:        # Ctrl-C: do not wait for the compilers
        _terminate(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return n


def _terminate(pool):
    """End the worker processes of ProcessPoolExecutor ``pool`` now (CPython keeps
    them in ``_processes``); its shutdown then returns at once."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def warm_up_all(refs, show=lambda text: None):
    """The warm-ups of the recipes ``refs`` that have one: side by side where
    there are several (``warm_up_side_by_side``), then each here. ``show(text)``
    hears what starts. Returns ``(processes, seconds side by side, {ref:
    seconds here})``."""
    todo = [r for r in dict.fromkeys(refs) if resolve_recipe(r).warmup is not None]
    t0 = time.perf_counter()
    if len(todo) > 1:
        show("compiling or loading the recipes' kernels side by side")
    processes = warm_up_side_by_side(todo)
    side = time.perf_counter() - t0
    here = {}
    for ref in todo:
        show(f"{ref}: compiling or loading its kernels")   # a new machine compiles here
        t1 = time.perf_counter()
        warm_up(ref)
        here[ref] = time.perf_counter() - t1
    return processes, side, here


# --------------------------------------------------------------------------
# runners: each yields (task, outcome) as runs finish

class InProcessRunner:
    """Runs one after another in this process."""

    name = "in-process"

    def map(self, tasks, on_start):
        for task in tasks:
            on_start(task)
            yield task, execute(task.recipe, task.params, task.seed)

    def close(self, wait=True):
        pass


class _EnvProcess(multiprocessing.context.SpawnProcess):
    """A spawned process that starts with ``_EnvProcess.env`` added to its environment
    (the parent's own environment is restored at once)."""

    env = {}

    def start(self):
        env = dict(type(self).env)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            super().start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


class _EnvSpawnContext(multiprocessing.context.SpawnContext):
    Process = _EnvProcess


def _init_worker(threads, parent):
    """Set up a worker process of parent process ``parent``: its Numba threads,
    Ctrl-C left to the parent, and an exit when the parent dies."""
    # Ctrl-C reaches the whole process group; the parent stops the sweep and ends
    # the workers (a worker's own KeyboardInterrupt would print a traceback)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent)
    if threads is None:
        return
    os.environ["NUMBA_NUM_THREADS"] = str(threads)   # in case numba is not imported yet
    if "numba" in sys.modules:
        import numba
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


_PR_SET_PDEATHSIG = 1        # <linux/prctl.h>


def _exit_with_parent(parent):
    """End this worker when process ``parent`` dies, however it dies.

    A worker of a parent killed with SIGKILL is otherwise orphaned for good: it
    waits on a call queue whose write end it holds itself, and it keeps the
    resource tracker alive. On Linux the kernel does it: ``prctl(PR_SET_PDEATHSIG,
    SIGKILL)`` sends this process SIGKILL when its parent exits, even while a
    kernel holds the GIL; the parent may already have died before the call, so
    the parent's pid is checked after it (an orphan's parent is another
    process). Where prctl is missing, a daemon thread polls ``os.getppid()``
    twice a second and exits when it changes (after the GIL is next free).
    A worker holds nothing to clean up: it never opens the results file.
    """
    if parent is None:
        return
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="fastnn-parent-watch", daemon=True).start()


class ProcessRunner:
    """``workers`` local processes (spawn start method).

    A worker that dies (the out-of-memory killer, a segfault in native code,
    ``os._exit`` in a recipe) breaks its whole pool: concurrent.futures fails
    every run the pool held, and cannot say which of them killed it. So those
    runs run again, each alone in a one-worker pool (``workers`` such pools
    side by side, with the same threads, so the results are the same bits): a
    run whose worker dies there is the one that killed it, and is stored as
    failed with how its worker ended; the others are stored as usual. The rest
    of the sweep then goes on in a new pool. Each run is yielded once.
    """

    name = "processes"

    def __init__(self, workers):
        from .._validation import check_int
        self.workers = check_int(workers, "workers", low=1)
        self.threads = threads_per_worker(self.workers)
        self._pool = None     # the pool of ``workers`` processes that runs the sweep
        self._pools = []      # every pool started and not shut down yet (close ends them)

    def map(self, tasks, on_start):
        pending = {}          # future -> task, in the order submitted
        todo = iter(tasks)
        limit = 2 * self.workers
        while True:
            while len(pending) < limit:
                task = next(todo, None)
                if task is None:
                    break
                on_start(task)
                if self._pool is None:
                    self._pool = self._start_pool(self.workers)
                pending[self._submit(self._pool, task)] = task
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            if any(_lost(future) for future in done):
                self._shut(self._pool)   # after which every run it held is settled
                held, pending = pending, {}
                for future, task in held.items():
                    if not _lost(future):    # finished before the worker died
                        yield task, _outcome(future)
                yield from self._run_alone([task for future, task in held.items() if _lost(future)])
                continue
            for future in done:
                yield pending.pop(future), _outcome(future)

    def _run_alone(self, tasks):
        """Run ``tasks``, the runs a broken pool held, each alone in a one-worker
        pool, ``workers`` at a time; yields (task, outcome). A run whose worker
        dies here is the one that killed it: it fails, and its pool is replaced."""
        todo = list(tasks)
        running = {}          # future -> (task, its pool)
        idle = []             # one-worker pools whose run finished
        while todo or running:
            while todo and len(running) < self.workers:
                pool = idle.pop() if idle else self._start_pool(1)
                task = todo.pop(0)
                running[self._submit(pool, task)] = task, pool
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                task, pool = running.pop(future)
                if _lost(future):
                    processes = self._shut(pool)
                    if getattr(future, "unsent", False):   # its worker died before, idle
                        todo.insert(0, task)
                        continue
                    yield task, Outcome(error=_worker_died(future.exception(), processes))
                else:
                    idle.append(pool)
                    yield task, _outcome(future)
        for pool in idle:
            self._shut(pool)

    def _start_pool(self, workers):
        _EnvProcess.env = worker_env(self.threads)
        pool = ProcessPoolExecutor(workers, mp_context=_EnvSpawnContext(), initializer=_init_worker,
                                   initargs=(self.threads, os.getpid()))
        self._pools.append(pool)
        return pool

    def _submit(self, pool, task):
        """The future of ``task``'s Outcome in ``pool``."""
        try:
            return pool.submit(execute, task.recipe, task.params, task.seed, self.threads)
        except BrokenProcessPool as err:   # a worker died since the last wait: lost with the rest
            future = Future()
            future.set_exception(err)
            future.unsent = True
            return future

    def _shut(self, pool, at_once=False):
        """Shut ``pool`` down, after its runs or ``at_once``; returns its worker
        processes by pid, ended and joined."""
        processes = dict(getattr(pool, "_processes", None) or {})
        if pool in self._pools:
            self._pools.remove(pool)
        if pool is self._pool:
            self._pool = None
        if at_once:
            _terminate(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        return processes

    def close(self, wait=True):
        """Stop the workers: after their runs (``wait``), or at once (Ctrl-C)."""
        for pool in list(self._pools):   # a run may take minutes; the runs stored are safe
            self._shut(pool, at_once=not wait)


def _lost(future):
    """Whether the run of ``future`` was lost with its pool: a worker of the
    pool died before the run's outcome came back (or the run never started)."""
    if future.cancelled() or not future.done():
        return True
    return isinstance(future.exception(), BrokenProcessPool)


def _worker_died(err, processes):
    """The error of a run that broke its one-worker pool: ``err`` is the
    BrokenProcessPool, ``processes`` the pool's worker processes (ended)."""
    if err.__cause__ is not None:   # the worker lived, but its outcome could not be read here
        lines = [line for line in str(err.__cause__).splitlines() if line.strip(" '\"")]
        why = lines[-1].strip() if lines else type(err.__cause__).__name__
        return (f"BrokenProcessPool: the outcome of this run could not be read back from its "
                f"worker process: {why}")
    codes = [p.exitcode for p in processes.values() if p.exitcode is not None]
    if not codes:
        how = "its exit code is unknown"
    elif codes[0] < 0:
        try:
            how = f"exit code {codes[0]}: killed by signal {signal.Signals(-codes[0]).name}"
        except ValueError:
            how = f"exit code {codes[0]}: killed by signal {-codes[0]}"
    else:
        how = f"exit code {codes[0]}"
    return (f"the worker process running this run died ({how}) while this run ran alone in it. "
            f"A worker ends so when the out-of-memory killer sends SIGKILL, native code crashes "
            f"(SIGSEGV) or the recipe calls os._exit; the sweep went on with the other runs.")


def _outcome(future):
    try:
        return future.result()
    except Exception as err:  # the outcome could not travel back
        return Outcome(error=f"{type(err).__name__}: {err}")


@contextlib.contextmanager
def _children_ignore_sigint():
    """Start processes that ignore Ctrl-C (SIG_IGN survives exec, and Python then
    leaves SIGINT alone): the local Dask cluster's processes, which the parent
    closes itself, would each print a KeyboardInterrupt traceback. The cost: a
    Ctrl-C in the second or two the cluster takes to start is ignored."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is None):   # (a handler set outside Python)
        yield
        return
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)


class DaskRunner:
    """A Dask distributed cluster: ``scheduler`` is an address or ``"local"``.

    ``"local"`` starts a ``LocalCluster`` on 127.0.0.1 with ``workers``
    single-threaded worker processes (default: the cores), each given
    ``NUMBA_NUM_THREADS = cores // workers``.
    """

    name = "dask"

    def __init__(self, scheduler, workers=None, timeout=10):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ImportError("the Dask runner needs dask.distributed: "
                              "pip install 'dask[distributed]'") from None
        check_runner(workers, scheduler)
        self._cluster = None
        self.threads = None
        if scheduler == "local":
            n = workers if workers is not None else _cores()
            self.threads = threads_per_worker(n)
            with _children_ignore_sigint():
                self._cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address="127.0.0.1:0", env=worker_env(self.threads))
            address = self._cluster.scheduler_address
        else:
            address = scheduler
        try:
            self._client = Client(address, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as err:
            if self._cluster is not None:
                self._cluster.close()
            why = str(err).splitlines()[0] if str(err) else type(err).__name__
            if isinstance(err, ValueError):   # "missing port number", "unknown address scheme"
                raise ValueError(f"scheduler must be an address like 'tcp://host:8786' or 'local'; "
                                 f"got {scheduler!r} ({why}).") from None
            raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler}: {why}") from None

    def map(self, tasks, on_start):
        from distributed import as_completed
        n_workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        limit = 2 * n_workers
        todo = iter(tasks)
        pending = {}
        queue = as_completed()

        def submit():
            task = next(todo, None)
            if task is None:
                return False
            on_start(task)
            future = self._client.submit(_dask_execute, task.recipe, task.params, task.seed,
                                         self.threads, pure=False, key=f"fastnn-run-{task.run_id}-{time.time_ns()}")
            pending[future.key] = task
            queue.add(future)
            return True

        for _ in range(limit):
            if not submit():
                break
        for future in queue:
            task = pending.pop(future.key)
            yield task, _outcome(future)
            future.release()
            submit()

    def close(self, wait=True):   # (closing the client drops its runs either way)
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def check_runner(workers=None, scheduler=None):
    """``workers`` and ``scheduler`` as ``make_runner`` takes them; TypeError or
    ValueError naming the bad one. Called before anything starts.

    workers : None (in this process, or with ``scheduler='local'`` a worker a
        core) or an int >= 1, whatever the scheduler.
    scheduler : None, ``'local'`` or a Dask scheduler address.
    """
    from .._validation import check_int
    if workers is not None:
        check_int(workers, "workers", low=1)
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        error = TypeError if not isinstance(scheduler, str) else ValueError
        raise error(f"scheduler must be an address like 'tcp://host:8786' or 'local'; "
                    f"got {_describe(scheduler)}.")


def make_runner(workers=None, scheduler=None):
    """The runner for ``workers`` / ``scheduler`` (both None: in-process)."""
    check_runner(workers, scheduler)
    if scheduler is not None:
        return DaskRunner(scheduler, workers)
    if workers is None:
        return InProcessRunner()
    return ProcessRunner(workers)


# --------------------------------------------------------------------------
# one run

def run(recipe, seed=0, out=None, **params):
    """Run ``recipe`` once with ``params`` (the rest at their defaults) and return its Result.

    ``metrics`` gain ``wall_seconds`` and ``compile_seconds`` (time spent
    compiling Numba kernels, or loading them from the disk cache, during the
    run) unless the recipe set them. With
    ``out`` (a path) the run is stored in that results file like a one-run
    sweep; if the file already holds this exact run (same recipe, parameters
    and seed) the stored result is returned instead of running it again.
    """
    rec = resolve_recipe(recipe)
    ref = recipe_ref(recipe)
    seed = check_seed(seed)
    resolved = resolve_params(rec, params)
    rec.check_params(resolved)
    run_id, config = configuration(ref, resolved, seed)
    if out is None:
        outcome = execute(ref, resolved, seed)
        if outcome.result is None:
            raise outcome.exception  # the recipe's own error (e.g. a bad parameter value)
        return outcome.result
    from .load import result_from_run
    from .store import check_path, open_store
    check_path(out, "out")
    with open_store(out, kind="sweep", recipe=ref) as store:
        if store.statuses().get(run_id) == "done":
            return result_from_run(store.read_run(run_id))
        store.begin(run_id, config, ref, seed)
        outcome = execute(ref, resolved, seed)
        if outcome.result is None:
            store.fail(run_id, outcome.error, outcome.attrs)
            raise outcome.exception
        store.finish(run_id, outcome.result, outcome.attrs)
        return outcome.result
