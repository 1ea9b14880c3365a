"""benchmarks/summary.py: the table's ratios and verdicts, and the machine line."""
import importlib.util
import json
import pathlib

import pytest

_PATH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "summary.py"


@pytest.fixture(scope="module")
def summary():
    spec = importlib.util.spec_from_file_location("bench_summary", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path, machine, rows):
    """A pytest-benchmark JSON with ``rows`` of (impl, median seconds, samples)."""
    path.write_text(json.dumps({"machine_info": machine, "benchmarks": [
        {"name": f"test_xor[{impl}]", "group": "xor-2-5-1-10000ep",
         "stats": {"median": median, "rounds": 5},
         "extra_info": {"impl": impl, "samples": samples}}
        for impl, median, samples in rows]}))
    return str(path)


EPYC = {"system": "Linux", "release": "6.1", "python_version": "3.11.7", "cpu": {
    "brand_raw": "AMD EPYC", "vendor_id_raw": "AuthenticAMD", "family": 26, "model": 2,
    "count": 2, "hz_actual_friendly": "2.6 GHz", "flags": ["sse4_2", "avx", "avx2", "avx512f"]}}
XEON = {"system": "Linux", "cpu": {"brand_raw": "Intel Xeon", "count": 2, "flags": ["avx", "avx2"]}}


def test_ratios_verdicts_and_the_machine(summary, tmp_path, capsys):
    # fastnn 150 ns a sample; pure Python 9 us (60x, short of 100x); JAX 2.5x (>= 2x)
    path = _write(tmp_path / "a.json", EPYC, [("fastnn", 6e-3, 40000), ("python", 9e-3, 1000),
                                              ("jax", 15e-3, 40000)])
    assert summary.main([path]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ("machine: AMD EPYC (AuthenticAMD, family 26 model 2), "
                                   "2 CPUs at 2.6 GHz, avx512f, Linux 6.1, Python 3.11.7")
    assert "warning" not in out
    assert "   fastnn            6 ms      40,000        150 ns" in out
    assert "60.00  >= 100x: NOT met" in out and "2.50  >= 2x: met" in out
    assert "<= 0.2 us/sample: met" in out
    assert "Targets met: 2 of 3" in out


def test_files_from_two_machines_are_named_and_warned_about(summary, tmp_path, capsys):
    a = _write(tmp_path / "a.json", EPYC, [("fastnn", 6e-3, 40000)])
    b = _write(tmp_path / "b.json", XEON, [("jax", 15e-3, 40000)])
    c = _write(tmp_path / "c.json", {}, [("python", 9e-3, 1000)])
    summary.main([a, b, c])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"machine: Intel Xeon, 2 CPUs, avx2, Linux  [{b}]"
    assert lines[2] == f"machine: unknown CPU  [{c}]"
    assert lines[3].startswith("warning: these files come from different machines")
