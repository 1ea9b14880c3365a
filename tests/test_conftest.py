"""The test run's own scheduling (tests/conftest.py): units of work and their order."""
from pathlib import Path

from tests.conftest import COSTLIEST_FIRST, SAME_KERNELS, costliest_first, work_unit

ROOT = Path(__file__).resolve().parent.parent


def test_every_costly_unit_names_a_kernel_set_or_a_test_file():
    # a renamed file would drop out of the order without a word
    for name in COSTLIEST_FIRST:
        assert name in SAME_KERNELS or (ROOT / name).is_file(), name


def test_costliest_units_come_first_in_their_order_and_the_rest_keep_theirs():
    units = ["tests/data/test_idx.py", "conv", "tests/experiments/test_kill.py", "dense",
             "tests/test_notice.py"]
    assert costliest_first(units) == ["dense", "conv", "tests/experiments/test_kill.py",
                                      "tests/data/test_idx.py", "tests/test_notice.py"]


def test_files_of_a_kernel_set_are_one_unit():
    assert work_unit("tests/models/test_mlp_lbfgs.py::test_x") == "dense"
    assert work_unit("tests/kernels/test_pool.py::test_y[1]") == "conv"
    assert work_unit("tests/experiments/test_kill.py::test_z") == "tests/experiments/test_kill.py"
