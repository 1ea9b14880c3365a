"""The line a long compile of a kernel writes (fastnn._notice)."""
import pytest
from numba import njit

from fastnn import _notice


def _kernel(name, module="fastnn.kernels.fake"):
    """A fresh function of ``module``, compiled at its first call."""
    def f(x):
        s = 0.0
        for i in range(x):
            s += i * 0.5
        return s
    f.__name__ = f.__qualname__ = name
    f.__module__ = module
    return njit(f)


@pytest.fixture
def notice(monkeypatch, capsys):
    """Every compile counts as long; returns a reader of stderr."""
    _notice.install()   # (as importing fastnn.kernels does)
    monkeypatch.setattr(_notice, "NOTICE_AFTER", 0.0)
    monkeypatch.setattr(_notice._NOTICE, "shown", set())
    monkeypatch.delenv("FASTNN_COMPILE_NOTICE", raising=False)

    def read():
        return capsys.readouterr().err
    return read


def test_a_long_compile_of_a_kernel_says_so_once(notice):
    _kernel("slow_one")(10)
    err = notice()
    assert err.count("fastnn: compiling fake.slow_one for this machine; once, then it loads "
                     "from the disk cache") == 1
    _kernel("slow_one")(10)     # the same kernel again (another signature, another process's)
    _kernel("other")(3)
    err = notice()
    assert "slow_one" not in err and err.count("fake.other") == 1


def test_no_line_for_other_code_quiet_blocks_the_switch_or_short_compiles(notice, monkeypatch):
    _kernel("outside", module="somebody.else")(5)
    with _notice.quiet():
        _kernel("warmed")(5)
    monkeypatch.setenv("FASTNN_COMPILE_NOTICE", "0")
    _kernel("switched_off")(5)
    monkeypatch.delenv("FASTNN_COMPILE_NOTICE")
    monkeypatch.setattr(_notice, "NOTICE_AFTER", 60.0)
    _kernel("quick")(5)
    assert notice() == ""
    assert _notice._NOTICE.timer is None and _notice._NOTICE.depth == 0


def test_the_recipes_warm_ups_are_quiet(notice, monkeypatch):
    """They say what compiles themselves (reproduce's bar, fastnn compile)."""
    from fastnn.experiments import runners

    class Recipe:
        warmup = staticmethod(lambda: _kernel("in_warm_up")(4))
    monkeypatch.setattr(runners, "resolve_recipe", lambda ref: Recipe)
    runners.warm_up("anything")
    assert notice() == ""


def test_the_timer_writes_only_for_a_compile_still_running(notice, monkeypatch):
    import time
    from types import SimpleNamespace
    monkeypatch.setattr(_notice, "NOTICE_AFTER", 0.05)
    for name, seconds in [("long", 0.5), ("short", 0.0)]:
        ev = SimpleNamespace(data={"dispatcher": _kernel(name)}, is_start=True)
        _notice._NOTICE.on_start(ev)
        time.sleep(seconds)
        _notice._NOTICE.on_end(ev)
    time.sleep(0.2)   # the short one's timer, had it not been cancelled
    err = notice()
    assert "fake.long" in err and "fake.short" not in err
