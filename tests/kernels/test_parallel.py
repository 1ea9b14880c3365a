"""The minibatch trainers' choice of threads (``_parallel.adapt_*``), on costs
made up as a busy core makes them: most parallel batches fast, some stalled."""
import numpy as np

from fastnn.kernels import _parallel


def choose(cost, n_batches):
    """Run the choice over ``n_batches``; the way each batch ran (True: all threads)."""
    choice, recent = _parallel.adapt_choice()
    ways = np.empty(n_batches, dtype=bool)
    for b in range(n_batches):
        many, probe = _parallel.adapt_next(choice)
        _parallel.adapt_record(choice, recent, many, probe, cost(b, many))
        ways[b] = many
    return ways


STALLS = np.random.RandomState(0).rand(4000) < 0.15


def busy(b, many):
    """Beside a busy process: a parallel batch costs 100 but 2000 when it waits
    for the descheduled thread (15% of them); one thread, 150."""
    return (2000.0 if STALLS[b] else 100.0) if many else 150.0


def quiet(b, many):
    return 100.0 if many else 150.0


def test_a_busy_core_runs_almost_every_batch_on_one_thread():
    # the parallel batches' mean (385) is what counts, not a lucky one (100):
    # scored on the last few batches and the last probe, half of them ran in
    # parallel and the fit cost 1.8 times one thread's
    ways = choose(busy, 3000)
    assert ways.mean() < 0.03
    spent = sum(busy(b, many) for b, many in enumerate(ways))
    assert spent < 1.03 * 150.0 * 3000


def test_a_quiet_machine_runs_almost_every_batch_on_all_threads():
    assert choose(quiet, 3000).mean() > 0.99


def test_the_choice_follows_the_machine_both_ways():
    late = choose(lambda b, many: quiet(b, many) if b < 1500 else busy(b, many), 3000)[-500:]
    assert late.mean() < 0.1
    # back to quiet: the stalled way's cost is trusted again only after
    # several quick probes (a quarter of the weight each), so it takes longer
    late = choose(lambda b, many: busy(b, many) if b < 1500 else quiet(b, many), 4000)[-500:]
    assert late.mean() > 0.9


def test_the_first_batch_does_not_count():
    # a fit's first batch (cold caches) costs 50 times the rest: it does not
    # push a quiet machine to one thread at the first probe
    ways = choose(lambda b, many: 5000.0 if b == 0 else quiet(b, many), 200)
    assert ways[_parallel.ADAPT_FIRST_GAP:].mean() > 0.9
