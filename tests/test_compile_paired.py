"""benchmarks/compile_paired.py: what it reads of numba's compile timings, and its arguments."""
import importlib
import pathlib
import sys

import numpy as np
import pytest
from numba import njit

_BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def compile_paired():
    sys.path.insert(0, str(_BENCH))
    try:
        yield importlib.import_module("compile_paired")
    finally:
        sys.path.remove(str(_BENCH))


def test_kernel_times_reads_a_new_compile_and_skips_what_was_there(compile_paired):
    @njit   # a new dispatcher: never in a cache
    def twice(x):
        s = 0.0
        for v in x:
            s += 2.0 * v
        return s

    objects = [twice, object()]
    assert compile_paired.kernel_times(objects) == {}          # nothing compiled yet
    twice(np.ones(3))
    twice(np.ones(3, dtype=np.float32))
    times = compile_paired.kernel_times(objects)
    (name, entry), = times.items()
    assert name.endswith("twice")
    assert entry["seconds"] > 0.0 and entry["llvm"] > 0.0
    assert 1 <= len(entry["passes"]) <= 3
    # the three longest of numba's own record, summed over both signatures, named
    # without numba's index ("12_nopython_type_inference" -> "nopython_type_inference");
    # which three depends on the host's load, so they are read from the record
    recorded = {}
    for result in twice.overloads.values():
        for key, t in result.metadata["pipeline_times"]["nopython"].items():
            index, name_ = key.split("_", 1)
            assert index.isdigit()
            recorded[name_] = recorded.get(name_, 0.0) + t.init + t.run + t.finalize
    assert "nopython_type_inference" in recorded
    assert set(entry["passes"]) == set(sorted(recorded, key=recorded.get)[-3:])
    assert sum(entry["passes"].values()) <= entry["seconds"] + 1e-9
    # both signatures are summed; one listed as already there leaves the other
    float64_sig = next(s for s in twice.overloads if "float64" in str(s))
    alone = compile_paired.kernel_times(objects, before={(id(twice), float64_sig)})
    assert 0.0 < alone[name]["seconds"] < entry["seconds"]


@pytest.mark.parametrize("args,message", [
    (["a", "b", "--rounds", "0"], "--rounds and --kernels must be >= 1, got 0 and 4"),
    (["a", "b", "--kernels", "-1"], "--rounds and --kernels must be >= 1, got 2 and -1"),
    (["a", "b", "--workload", "cnn2"], "invalid choice: 'cnn2'"),
])
def test_bad_arguments_are_refused_with_the_reason(compile_paired, args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        compile_paired.main(args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
