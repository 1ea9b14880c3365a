"""SIMD building blocks with a fixed order of floating-point operations.

LLVM vectorises a running sum only with fastmath, which lets the vector width
(so the machine) pick the rounding. These intrinsics write the vector code
themselves, so every sum is added in an order the docstrings state, the same
on any CPU and thread count, and tests pin it against loops written out. No
fused multiply-add: each product is rounded, as in the scalar loops.

- ``lane_dot``, ``lane_dot4``: dot products summed in the lanes of a vector.
- ``rows_tile4``: four rows' sums over the rows of a matrix, in registers
  (the CNN head's first layer, and the batch's weight gradient).
- ``conv_tile2``, ``conv_tile1``: a stretch of one or two convolution maps,
  in registers for all the taps.
- ``pool2_row``: a row of 2 x 2 max-pooling windows, a window a lane.
- ``tap_rows``: a filter's gradient from deltas routed to pooled cells.
- ``nonzero_positions``: the positions of a vector's nonzero entries.
- ``listed_rows_sum``: a layer's sums over listed rows of its weights,
  held in registers (a sample's nonzero inputs), some rows read as brought
  up to date by lazy momentum on the way.
- ``narrow_rows_sum``, ``narrow_rows_update``: a layer's sums, and an
  optimiser step, on a weight matrix of at most two vectors a row (a
  classifier's output layer).
- ``float64_from_bits``: an int64's bits read as a float64, a scalar that
  LLVM's vectoriser can still widen (``2**k`` from its exponent bits).
- ``cycles``: the processor's cycle counter, for a kernel that times its own
  steps (the minibatch trainer choosing its thread count).

The arrays are C-contiguous 1-D arrays of one float type (int64 for
positions); the callers keep every index in bounds (nothing is checked).

Intrinsics have no Python form. Under ``NUMBA_DISABLE_JIT=1`` (the kernels
run as Python, to debug them) each is replaced by the same computation
written as loops (``_<name>_py``, at the end of this module), which the tests
compile and compare with the intrinsic bit for bit.
"""
import time

import numpy as np
from llvmlite import ir
from llvmlite.binding import llvm_version_info
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic, register_jitable

_LANES = {types.float32: 16, types.float64: 8}  # one 64-byte vector of each


def _target_has(feature):
    """Whether the CPU numba compiles for has ``feature`` (NUMBA_CPU_FEATURES, else the host's)."""
    import llvmlite.binding as ll
    features = config.CPU_FEATURES if config.CPU_FEATURES is not None else ll.get_host_cpu_features().flatten()
    return f"+{feature}" in features.split(",")


_MASKED_STORES = _target_has("avx512f")   # cheap masked stores (see _Gen.masked_store)
_I32 = ir.IntType(32)


def _float_arrays(*arrays):
    a = arrays[0]
    return all(isinstance(b, types.Array) and b.ndim == 1 and b.layout == "C"
               and b.dtype == a.dtype for b in arrays) and a.dtype in _LANES


def _int_array(a):
    return isinstance(a, types.Array) and a.ndim == 1 and a.dtype == types.int64


class _Gen:
    """What the code generators share: the call's arguments (``idx(i)``: argument
    ``i`` as an intp; ``ptr(i, offset)``: a pointer into array argument ``i``),
    constants, the vector types of ``lanes`` lanes of the first argument's
    float type, splats, and LLVM's masked loads and stores."""

    def __init__(self, context, builder, signature, args, lanes=None):
        self.context, self.b = context, builder
        self.tys, self.args = signature.args, args
        self.dtype = self.tys[0].dtype
        self.lanes = lanes or _LANES[self.dtype]
        self.intp = context.get_value_type(types.intp)
        self.fty = context.get_value_type(self.dtype)
        self.vty = ir.VectorType(self.fty, self.lanes)
        self.ivty = ir.VectorType(self.intp, self.lanes)
        self.mty = ir.VectorType(ir.IntType(1), self.lanes)
        self.lane_ids = ir.Constant(self.ivty, list(range(self.lanes)))

    def idx(self, i):
        return self.context.cast(self.b, self.args[i], self.tys[i], types.intp)

    def const(self, k):
        return ir.Constant(self.intp, k)

    def ptr(self, i, offset):
        """A pointer to element ``offset`` (an intp value) of array argument ``i``."""
        aty = self.tys[i]
        data = self.context.make_array(aty)(self.context, self.b, self.args[i]).data
        return self.b.gep(data, [offset], source_etype=self.context.get_value_type(aty.dtype))

    def at(self, p, k, ety=None):
        return self.b.gep(p, [k], source_etype=ety or self.fty)

    def load(self, p, k, ety=None):
        ety = ety or self.fty
        return self.b.load(self.at(p, k, ety), typ=ety)

    def vload(self, p, k):
        return self.b.load(self.at(p, k), typ=self.vty, align=4)

    def vstore(self, v, p, k):
        self.b.store(v, self.b.bitcast(self.at(p, k), self.vty.as_pointer()), align=4)

    def splat(self, x, vty=None):
        vty = vty or (self.ivty if x.type == self.intp else self.vty)
        v = self.b.insert_element(ir.Constant(vty, None), x, ir.Constant(_I32, 0))
        return self.b.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, vty.count),
                                                       [0] * vty.count))

    def _suffix(self, vty):
        e = vty.element
        return f"v{vty.count}" + ("i64" if isinstance(e, ir.IntType) else
                                  "f32" if e == ir.FloatType() else "f64")

    def masked_load(self, p, k, mask):
        """The lanes of ``mask`` from ``p + k`` (the others zero, and not read)."""
        fn = cgutils.get_or_insert_function(
            self.b.module, ir.FunctionType(self.vty, [self.vty.as_pointer(), _I32, self.mty,
                                                      self.vty]),
            f"llvm.masked.load.{self._suffix(self.vty)}.p0")
        return self.b.call(fn, [self.b.bitcast(self.at(p, k), self.vty.as_pointer()),
                                ir.Constant(_I32, 4), mask, ir.Constant(self.vty, None)])

    def masked_store(self, v, p, k, mask, ety=None):
        """The lanes of ``mask`` of ``v`` to ``p + k`` (the others not written).

        Without AVX-512 a lane at a time, a branch and a store each: AVX2's
        masked stores (``vmaskmov``) are slow on some processors (on an AMD
        EPYC of the first Zen generation this took digits per-sample training
        from 8.3 to 7.9 us a sample and MNIST at batch 1 from 27.9 to 26.0).
        The same lanes are written either way."""
        if not _MASKED_STORES:
            ety = ety or v.type.element
            for j in range(v.type.count):
                with self.b.if_then(self.b.extract_element(mask, ir.Constant(_I32, j))):
                    self.b.store(self.b.extract_element(v, ir.Constant(_I32, j)),
                                 self.at(p, self.b.add(k, self.const(j)), ety))
            return
        vty = v.type
        fn = cgutils.get_or_insert_function(
            self.b.module, ir.FunctionType(ir.VoidType(), [vty, vty.as_pointer(), _I32, self.mty]),
            f"llvm.masked.store.{self._suffix(vty)}.p0")
        ety = ety or vty.element
        self.b.call(fn, [v, self.b.bitcast(self.at(p, k, ety), vty.as_pointer()),
                         ir.Constant(_I32, 4 if ety == self.fty else 8), mask])


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose IEEE bits are the int64 ``bits`` (a bitcast, no memory)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _cycles(typingctx):
    """The processor's cycle counter (``llvm.readcyclecounter``: ``rdtsc`` on x86;
    0 where a target has none), for a kernel to time its own steps."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(64), []),
                                            "llvm.readcyclecounter")
        return builder.call(fn, [])
    return types.int64(), codegen


# ---------------------------------------------------------------------------
# dot products summed in the lanes of a vector

def _lane_dots_ir(g, pas, pbs, nv):
    """The IR of ``lane_dot``: the dot product of the ``nv`` values at each
    pointer of ``pas`` with those at each pointer of ``pbs`` (every pair,
    ``pas`` major), interleaved, each chunk loaded once for all the pairs that
    use it; returns their values."""
    b, lanes = g.b, g.lanes
    pairs = [(p, q) for p in pas for q in pbs]
    n_lanes = g.const(lanes)
    zero = ir.Constant(g.vty, None)

    def products(start):
        loaded = {}

        def chunk(p):
            if id(p) not in loaded:
                loaded[id(p)] = g.vload(p, start)
            return loaded[id(p)]
        return [b.fmul(chunk(p), chunk(q)) for p, q in pairs]

    def add_to(accs, vs):
        for acc, v in zip(accs, vs):
            b.store(b.fadd(b.load(acc), v), acc)

    res = [cgutils.alloca_once_value(b, ir.Constant(g.fty, 0.0)) for _ in pairs]
    with b.if_else(b.icmp_signed("<", nv, n_lanes)) as (short, full):
        with short:
            with cgutils.for_range(b, nv) as loop:
                k = loop.index
                add_to(res, [b.fmul(g.load(p, k), g.load(q, k)) for p, q in pairs])
        with full:
            acc0 = [cgutils.alloca_once_value(b, zero) for _ in pairs]
            acc1 = [cgutils.alloca_once_value(b, zero) for _ in pairs]
            n_chunks = b.sdiv(nv, n_lanes)
            n_pairs = b.sdiv(n_chunks, g.const(2))
            with cgutils.for_range(b, n_pairs) as loop:
                s0 = b.mul(loop.index, g.const(2 * lanes))
                add_to(acc0, products(s0))
                add_to(acc1, products(b.add(s0, n_lanes)))
            odd = b.icmp_signed("!=", b.mul(n_pairs, g.const(2)), n_chunks)
            with b.if_then(odd):
                add_to(acc0, products(b.mul(b.sub(n_chunks, g.const(1)), n_lanes)))
            rem = b.sub(nv, b.mul(n_chunks, n_lanes))
            with b.if_then(b.icmp_signed(">", rem, g.const(0))):
                tails = products(b.sub(nv, n_lanes))
                keep = b.icmp_signed(">=", g.lane_ids, g.splat(b.sub(n_lanes, rem)))
                add_to(acc0, [b.select(keep, tail, zero) for tail in tails])
            for t in range(len(pairs)):
                v = b.fadd(b.load(acc0[t]), b.load(acc1[t]))
                width = lanes
                while width > 1:
                    half = width // 2
                    lo = ir.Constant(ir.VectorType(_I32, half), list(range(half)))
                    hi = ir.Constant(ir.VectorType(_I32, half), list(range(half, width)))
                    v = b.fadd(b.shuffle_vector(v, v, lo), b.shuffle_vector(v, v, hi))
                    width = half
                b.store(b.extract_element(v, ir.Constant(_I32, 0)), res[t])
    return [b.load(r) for r in res]


@intrinsic
def _lane_dot(typingctx, a, a0, b, b0, n):
    """``sum_k a[a0 + k] * b[b0 + k]`` for ``k < n``, summed in SIMD lanes.

    With ``L`` lanes (16 for float32, 8 for float64) and ``n >= L``, chunk
    ``c`` of ``L`` consecutive products is added lane-wise into accumulator
    ``c % 2`` (a lone last full chunk into the first); when ``L`` does not
    divide ``n``, the last ``L`` products are added into the first
    accumulator with the lanes already counted masked to zero. The two
    accumulators are added, then the lanes are summed halving (``v[:h] +
    v[h:]`` down to one). Below ``L`` terms, a plain running sum.
    """
    if not _float_arrays(a, b):
        return None
    sig = a.dtype(a, a0, b, b0, n)

    def codegen(context, builder, signature, args):
        g = _Gen(context, builder, signature, args)
        return _lane_dots_ir(g, [g.ptr(0, g.idx(1))], [g.ptr(2, g.idx(3))], g.idx(4))[0]

    return sig, codegen


@intrinsic
def _lane_dot4(typingctx, a, a0, b, b0, step, n):
    """``(lane_dot(a, a0, b, b0 + t*step, n) for t in 0..3)``: four dot
    products of one range of ``a`` with four ranges of ``b``, each with
    ``lane_dot``'s bits, computed together (eight independent sums in flight
    instead of two, and ``a`` loaded once for the four). A filter's taps
    (``step`` 1) and a weight matrix's rows (``step`` a row) use it.
    """
    if not _float_arrays(a, b):
        return None
    sig = types.UniTuple(a.dtype, 4)(a, a0, b, b0, step, n)

    def codegen(context, builder, signature, args):
        g = _Gen(context, builder, signature, args)
        pbs = [g.ptr(2, builder.add(g.idx(3), builder.mul(g.idx(4), g.const(t))))
               for t in range(4)]
        dots = _lane_dots_ir(g, [g.ptr(0, g.idx(1))], pbs, g.idx(5))
        return context.make_tuple(builder, signature.return_type, dots)

    return sig, codegen


# ---------------------------------------------------------------------------
# four rows' sums over the rows of a matrix, held in registers

TILE_IMAGES = 4   # rows of sums (images) of a ``rows_tile4`` call
TILE_VECTORS = 2  # 64-byte vectors of columns a call: 32 float32 or 16 float64 columns


@intrinsic
def _rows_tile4(typingctx, acc, a0, astride, x, x0, xstride, xstep, w, w0, n_in, n_out, zeros):
    """For images ``t < 4`` and the ``TILE_VECTORS`` vectors of columns from ``w0``:
    ``acc[a0 + t*astride + j] += sum_{i < n_in} x[x0 + t*xstride + i*xstep] * w[w0 + i*n_out + j]``.

    The terms are added in the order of ``i``, each product rounded, with
    ``dense._add_four_rows``' skip: an image's inputs ``i..i+3`` (``i`` a
    multiple of 4) add nothing when all four are zero, and each input of the
    last ``n_in % 4`` adds nothing when it is zero. So every sum has the bits
    of the CNN head's loop (``conv._head_layer``). The eight sums (four
    images, two vectors) stay in registers for all ``n_in`` rows: a row's two
    vectors of weights are loaded once for the four images, and nothing is
    stored until the end. The one-image-a-pass loop loads and stores four
    images' sums every four rows and reloads the weights for each image from
    L1; it is bound by loads and stores, this by the multiplies and adds. The
    same loop sums a batch's weight gradient (``conv._batch_outer_rows``): the
    "images" are four weight rows, the inputs the batch's rows (``xstep`` a
    row of inputs), ``w`` the deltas.

    ``zeros`` false promises that no input is zero: then nothing is skipped
    and the loop tests nothing (the same bits; the tests and selects cost
    about a seventh of the loop, and a sigmoid's outputs are never zero).
    """
    if not _float_arrays(acc, x, w):
        return None
    sig = types.void(acc, a0, astride, x, x0, xstride, xstep, w, w0, n_in, n_out, zeros)

    def codegen(context, builder, signature, args):
        g = _Gen(context, builder, signature, args)
        b, lanes = builder, g.lanes
        astride, xstride, xstep, n_in, n_out = g.idx(2), g.idx(5), g.idx(6), g.idx(9), g.idx(10)
        pa = [g.ptr(0, b.add(g.idx(1), b.mul(astride, g.const(t)))) for t in range(TILE_IMAGES)]
        px = [g.ptr(3, b.add(g.idx(4), b.mul(xstride, g.const(t)))) for t in range(TILE_IMAGES)]
        pw = g.ptr(7, g.idx(8))
        zero = ir.Constant(g.fty, 0.0)
        accs = [[cgutils.alloca_once_value(b, g.vload(pa[t], g.const(v * lanes)))
                 for v in range(TILE_VECTORS)] for t in range(TILE_IMAGES)]

        def add_rows(i, n_rows, skips):
            """Rows ``i .. i + n_rows - 1`` into every sum; with ``skips``, an
            image's terms skipped when its ``n_rows`` inputs are all zero."""
            xs, skip = [], []
            for t in range(TILE_IMAGES):
                vals = [g.load(px[t], b.mul(b.add(i, g.const(k)), xstep)) for k in range(n_rows)]
                xs.append([g.splat(v) for v in vals])
                if skips:
                    all_zero = b.fcmp_ordered("==", vals[0], zero)
                    for v in vals[1:]:
                        all_zero = b.and_(all_zero, b.fcmp_ordered("==", v, zero))
                    skip.append(all_zero)
            rows = [b.mul(b.add(i, g.const(k)), n_out) for k in range(n_rows)]
            for v in range(TILE_VECTORS):
                ws = [g.vload(pw, b.add(r, g.const(v * lanes))) for r in rows]
                for t in range(TILE_IMAGES):
                    old = b.load(accs[t][v])
                    s = old
                    for k in range(n_rows):
                        s = b.fadd(s, b.fmul(xs[t][k], ws[k]))
                    b.store(b.select(skip[t], old, s) if skips else s, accs[t][v])

        def all_rows(skips):
            quads = b.sdiv(n_in, g.const(4))
            with cgutils.for_range(b, quads) as loop:
                add_rows(b.mul(loop.index, g.const(4)), 4, skips)
            with cgutils.for_range(b, b.sub(n_in, b.mul(quads, g.const(4)))) as loop:
                add_rows(b.add(b.mul(quads, g.const(4)), loop.index), 1, skips)

        with b.if_else(b.icmp_signed("!=", g.idx(11), g.const(0))) as (some, none):
            with some:
                all_rows(True)
            with none:
                all_rows(False)
        for t in range(TILE_IMAGES):
            for v in range(TILE_VECTORS):
                g.vstore(b.load(accs[t][v]), pa[t], g.const(v * lanes))
        return context.get_dummy_value()

    return sig, codegen


# ---------------------------------------------------------------------------
# an optimiser step on a matrix of narrow rows

NARROW_VECTORS = 2   # vectors a row of ``narrow_rows_update`` (16 float64, 32 float32 columns)
RULE_PLAIN, RULE_MOMENTUM, RULE_NESTEROV, RULE_PREVIOUS = 0, 1, 2, 3


LIST_CHUNK = 8   # inputs a step of ``nonzero_positions`` (an int64 vector of positions)
_HAS_COMPRESS = llvm_version_info >= (19,)   # llvm.experimental.vector.compress


@intrinsic
def _nonzero_positions(typingctx, x, n, out):
    """Write the positions ``i < n`` where ``x[i] != 0`` (NaN too, as in
    Python) to ``out``, in order, and return how many there are.

    ``LIST_CHUNK`` inputs a step: a vector comparison, the positions of the
    nonzero ones packed to the front of a vector (``vector.compress``: one
    AVX-512 instruction) and stored whole at the list's end, so the positions
    beyond it are scratch (a step's store ends within ``out[:n]``); the last
    ``n % LIST_CHUNK`` inputs one at a time. The loop it replaces stored a
    position and added a comparison's result an input (MNIST at batch 1, 784
    inputs of which about 150 nonzero: 7.2 -> 7.0 us a sample). LLVM has
    ``vector.compress`` from version 19; under an older one (an older
    llvmlite) every input goes the one-at-a-time way.
    """
    if not (_float_arrays(x) and _int_array(out) and isinstance(n, types.Integer)):
        return None
    sig = types.int64(x, n, out)

    def codegen(context, builder, signature, args):
        g = _Gen(context, builder, signature, args, lanes=LIST_CHUNK)
        b = builder
        n = g.idx(1)
        px, pout = g.ptr(0, g.const(0)), g.ptr(2, g.const(0))
        i64 = ir.IntType(64)
        vi = ir.VectorType(i64, LIST_CHUNK)
        compress = cgutils.get_or_insert_function(
            b.module, ir.FunctionType(vi, [vi, g.mty, vi]),
            f"llvm.experimental.vector.compress.v{LIST_CHUNK}i64")
        popcount = cgutils.get_or_insert_function(
            b.module, ir.FunctionType(ir.IntType(LIST_CHUNK), [ir.IntType(LIST_CHUNK)]),
            f"llvm.ctpop.i{LIST_CHUNK}")
        zero = ir.Constant(g.fty, 0.0)
        count = cgutils.alloca_once_value(b, ir.Constant(i64, 0))
        steps = b.sdiv(n, g.const(LIST_CHUNK)) if _HAS_COMPRESS else g.const(0)
        with cgutils.for_range(b, steps) as loop:
            base = b.mul(loop.index, g.const(LIST_CHUNK))
            xs = g.vload(px, base)
            live = b.fcmp_unordered("!=", xs, ir.Constant(g.vty, [0.0] * LIST_CHUNK))
            pos = b.add(g.splat(base), g.lane_ids)
            packed = b.call(compress, [pos, live, ir.Constant(vi, None)])
            at = b.load(count)
            b.store(packed, b.bitcast(g.at(pout, at, i64), vi.as_pointer()), align=8)
            k = b.zext(b.call(popcount, [b.bitcast(live, ir.IntType(LIST_CHUNK))]), i64)
            b.store(b.add(at, k), count)
        with cgutils.for_range_slice(b, b.mul(steps, g.const(LIST_CHUNK)), n, g.const(1)) as (i, _):
            at = b.load(count)
            b.store(i, g.at(pout, at, i64))
            xi = g.load(px, i)
            b.store(b.add(at, b.zext(b.fcmp_unordered("!=", xi, zero), i64)), count)
        return b.load(count)

    return sig, codegen


LISTED_VECTORS = 16   # vectors of sums a pass of ``listed_rows_sum`` holds (128 float64)


@intrinsic
def _listed_rows_sum(typingctx, acc, a0, x, rows, n_rows, w, v, w0, n_out, geo):
    """``acc[a0 + j] += x[r] * u[w0 + r*n_out + j]`` for ``r = rows[t]``,
    ``t < n_rows`` in order, every ``j < n_out``, where row ``r`` of ``u`` is
    ``w + v * geo[r]`` (in ``w``'s precision) if ``geo[r] >= 0``, else ``w``.

    A layer's sums over the rows of its nonzero inputs (the one-hidden
    trainer's hidden layer), each product rounded and added in the order of
    the list: the bits of the loop over rows. ``geo`` (float64) brings a row
    up to date as it is read: lazy momentum's catch-up of a row that coasted
    (``dense._coast``'s ``w += v geo``), done in registers here and in the
    update instead of written first (MNIST batch 1: 8.2 -> 7.3 us a sample).
    Up to ``LISTED_VECTORS`` vectors of sums stay in registers for all the
    rows, a pass per such stretch of ``j`` (each pass tests every row's
    ``geo`` again, a branch that mispredicts at random: digits' 13 vectors
    of float64 take one pass); the loop loads and stores the sums at every
    row, and its stores bound it.
    """
    if not (_float_arrays(acc, x, w, v) and _int_array(rows) and isinstance(geo, types.Array)
            and geo.ndim == 1 and geo.dtype == types.float64):
        return None
    sig = types.void(acc, a0, x, rows, n_rows, w, v, w0, n_out, geo)

    def codegen(context, builder, signature, args):
        g = _Gen(context, builder, signature, args)
        b, lanes = builder, g.lanes
        n_rows, w0, n_out = g.idx(4), g.idx(7), g.idx(8)
        pa, px, pw, pv = g.ptr(0, g.idx(1)), g.ptr(2, g.const(0)), g.ptr(5, w0), g.ptr(6, w0)
        prows, pgeo = g.ptr(3, g.const(0)), g.ptr(9, g.const(0))
        f64 = context.get_value_type(types.float64)
        width = g.const(LISTED_VECTORS * lanes)
        n_pass = b.sdiv(b.add(n_out, g.const(LISTED_VECTORS * lanes - 1)), width)

        def one_pass(c0, nv):
            """Columns ``c0 ..`` in ``nv`` vectors, the last one masked at ``n_out``."""
            last = b.icmp_signed("<", b.add(g.lane_ids, g.splat(b.add(c0, g.const((nv - 1) * lanes)))),
                                 g.splat(n_out))
            full = ir.Constant(g.mty, [1] * lanes)
            masks = [full] * (nv - 1) + [last]
            sums = [cgutils.alloca_once_value(
                b, g.masked_load(pa, b.add(c0, g.const(v * lanes)), masks[v])) for v in range(nv)]

            def add_row(xs, row, geo=None):
                for v in range(nv):
                    k = b.add(row, g.const(v * lanes))
                    wv = g.masked_load(pw, k, masks[v])
                    if geo is not None:   # _coast's w + v geo, in registers
                        wv = b.fadd(wv, b.fmul(g.masked_load(pv, k, masks[v]), geo))
                    b.store(b.fadd(b.load(sums[v]), b.fmul(xs, wv)), sums[v])

            with cgutils.for_range(b, n_rows) as loop:
                r = g.load(prows, loop.index, ir.IntType(64))
                xs = g.splat(g.load(px, r))
                row = b.add(b.mul(r, n_out), c0)
                geo = g.load(pgeo, r, f64)
                with b.if_else(b.fcmp_ordered(">=", geo, ir.Constant(f64, 0.0))) as (idle, live):
                    with idle:
                        add_row(xs, row, g.splat(context.cast(b, geo, types.float64, g.dtype)))
                    with live:
                        add_row(xs, row)
            for v in range(nv):
                g.masked_store(b.load(sums[v]), pa, b.add(c0, g.const(v * lanes)), masks[v])

        with cgutils.for_range(b, n_pass) as outer:
            c0 = b.mul(outer.index, width)
            left = b.sub(n_out, c0)
            nv_needed = b.sdiv(b.add(left, g.const(lanes - 1)), g.const(lanes))
            for nv in range(1, LISTED_VECTORS + 1):
                cond = (b.icmp_signed("==", nv_needed, g.const(nv)) if nv < LISTED_VECTORS
                        else b.icmp_signed(">=", nv_needed, g.const(nv)))
                with b.if_then(cond):
                    one_pass(c0, nv)
        return context.get_dummy_value()

    return sig, codegen


def _narrow_masks(g, n_out):
    """The lanes of each of a row's ``NARROW_VECTORS`` vectors below ``n_out``."""
    return [g.b.icmp_signed("<", g.b.add(g.lane_ids, g.splat(g.const(c * g.lanes))), g.splat(n_out))
            for c in range(NARROW_VECTORS)]


@intrinsic
def _narrow_rows_sum(typingctx, acc, a0, x, x0, w, w0, n_in, n_out):
    """``acc[a0 + j] += x[x0 + i] * w[w0 + i*n_out + j]`` for ``i < n_in`` in
    order, ``j < n_out <= 2 L``, skipping ``i`` where ``x[x0 + i] == 0``.

    The one-hidden trainer's output sums (``_one_hidden_epochs``), the same
    bits: the sums stay in two masked vectors for all the rows, where the
    loop over a row of 10 ran as scalars.
    """
    if not _float_arrays(acc, x, w):
        return None
    sig = types.void(acc, a0, x, x0, w, w0, n_in, n_out)

    def codegen(context, builder, signature, args):
        g = _Gen(context, builder, signature, args)
        b, lanes = builder, g.lanes
        n_in, n_out = g.idx(6), g.idx(7)
        pa, px, pw = g.ptr(0, g.idx(1)), g.ptr(2, g.idx(3)), g.ptr(4, g.idx(5))
        masks = _narrow_masks(g, n_out)
        sums = [cgutils.alloca_once_value(b, g.masked_load(pa, g.const(c * lanes), masks[c]))
                for c in range(NARROW_VECTORS)]
        zero = ir.Constant(g.fty, 0.0)
        with cgutils.for_range(b, n_in) as loop:
            i = loop.index
            xi = g.load(px, i)
            use = b.fcmp_unordered("!=", xi, zero)
            xs = g.splat(xi)
            row = b.mul(i, n_out)
            for c in range(NARROW_VECTORS):
                old = b.load(sums[c])
                wv = g.masked_load(pw, b.add(row, g.const(c * lanes)), masks[c])
                b.store(b.select(use, b.fadd(old, b.fmul(xs, wv)), old), sums[c])
        for c in range(NARROW_VECTORS):
            g.masked_store(b.load(sums[c]), pa, g.const(c * lanes), masks[c])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _narrow_rows_update(typingctx, params, vel, w0, n_in, n_out, inp, i0, delta, d0, skip,
                        rule, alpha, mom, lr):
    """``dense._update_rows``' SGD step on a matrix whose rows fit two vectors.

    Row ``i`` (``params[w0 + i*n_out:][:n_out]``, ``n_out <= 2 L``) has the
    gradient ``g = x * delta[d0:d0+n_out] + alpha * w``, ``x = inp[i0 + i]``
    in the parameters' precision (without a penalty ``g = x * delta``, as in
    ``dense._plain_row`` and ``_momentum_row``; part D's rule keeps the
    term); rows with ``x == 0`` are skipped when ``skip``. ``rule``:
    ``RULE_PLAIN`` ``w -= lr g``; ``RULE_MOMENTUM`` ``v = mom v - lr g; w += v``;
    ``RULE_NESTEROV`` the same ``v``, ``w += mom v - lr g``; ``RULE_PREVIOUS``
    ``w -= lr g + mom v; v = g``. The same operations in the same order as
    the loops, so the same bits. The deltas are loaded once; a row is one or
    two masked vectors. The loops vectorise a row of 10 (a classifier's output
    layer) badly: the vector loop needs more iterations than the row has, and
    every row runs as scalars.
    """
    if not (_float_arrays(params, vel, delta) and isinstance(inp, types.Array)
            and inp.ndim == 1 and inp.dtype in _LANES):
        return None
    sig = types.void(params, vel, w0, n_in, n_out, inp, i0, delta, d0, skip, rule, alpha, mom, lr)

    def codegen(context, builder, signature, args):
        g = _Gen(context, builder, signature, args)
        b, lanes = builder, g.lanes
        w0, n_in, n_out, i0, d0 = g.idx(2), g.idx(3), g.idx(4), g.idx(6), g.idx(8)
        pw, pv, px = g.ptr(0, g.const(0)), g.ptr(1, g.const(0)), g.ptr(5, i0)
        fl = [g.splat(context.cast(b, args[k], signature.args[k], g.dtype)) for k in (11, 12, 13)]
        alpha, mom, lr = fl
        masks = _narrow_masks(g, n_out)
        pd = g.ptr(7, d0)
        ds = [g.masked_load(pd, g.const(c * lanes), masks[c]) for c in range(NARROW_VECTORS)]
        zero = ir.Constant(g.fty, 0.0)
        do_skip = b.icmp_signed("!=", g.idx(9), g.const(0))

        def load_row(i, pred, nvec, velocities):
            """Row ``i``'s weights and velocities (nothing read when ``pred`` is false;
            zero velocities without ``velocities``)."""
            row = b.mul(i, n_out)
            out = []
            for c in range(nvec):
                k = b.add(b.add(w0, row), g.const(c * lanes))
                m = b.and_(masks[c], g.splat(pred, ir.VectorType(ir.IntType(1), lanes)))
                out.append((g.masked_load(pw, k, m), g.masked_load(pv, k, m) if velocities
                            else ir.Constant(g.vty, None)))
            return out

        def rows(rule, nvec, penalty):
            # Row i + 1 is loaded before row i is stored: a masked store of a
            # row's last vector covers the next row's first elements, and a
            # load issued after it waits for the store (twice the loops' time).
            # A row that fits one vector takes one (``nvec``): a store with an
            # empty mask still holds back a later load it would overlap (float32
            # rows of 10 at 40 bytes: the load of row i + 2 waited on row i's
            # empty second vector, digits per-sample 3.5 -> 2.7 us)
            # (the plain rule reads no velocities; without a penalty, ``alpha * w``
            # is left out, as in dense._plain_row and _momentum_row, except by part
            # D's rule)
            velocities = rule != RULE_PLAIN
            cur = [[cgutils.alloca_once_value(b, val) for val in pair]
                   for pair in load_row(g.const(0), b.icmp_signed(">", n_in, g.const(0)), nvec,
                                        velocities)]
            with cgutils.for_range(b, n_in) as loop:
                i = loop.index
                wv = [(b.load(cw), b.load(cv)) for cw, cv in cur]
                nxt = b.add(i, g.const(1))
                ahead = load_row(nxt, b.icmp_signed("<", nxt, n_in), nvec, velocities)
                x = context.cast(b, g.load(px, i, context.get_value_type(inp.dtype)), inp.dtype,
                                 g.dtype)
                live = b.or_(b.not_(do_skip), b.fcmp_ordered("!=", x, zero))
                with b.if_then(live):
                    xs = g.splat(x)
                    row = b.add(w0, b.mul(i, n_out))
                    for c in range(nvec):
                        k = b.add(row, g.const(c * lanes))
                        w, v = wv[c]
                        gr = b.fmul(xs, ds[c])
                        if penalty:
                            gr = b.fadd(gr, b.fmul(alpha, w))
                        if rule == RULE_PLAIN:
                            g.masked_store(b.fsub(w, b.fmul(lr, gr)), pw, k, masks[c])
                            continue
                        if rule == RULE_PREVIOUS:
                            w = b.fsub(w, b.fadd(b.fmul(lr, gr), b.fmul(mom, v)))
                            v = gr
                        else:
                            v = b.fsub(b.fmul(mom, v), b.fmul(lr, gr))
                            step = v if rule == RULE_MOMENTUM else b.fsub(b.fmul(mom, v),
                                                                          b.fmul(lr, gr))
                            w = b.fadd(w, step)
                        g.masked_store(v, pv, k, masks[c])
                        g.masked_store(w, pw, k, masks[c])
                for (cw, cv), (w, v) in zip(cur, ahead):
                    b.store(w, cw)
                    b.store(v, cv)

        def widths(rule, penalty):
            with b.if_else(b.icmp_signed("<=", n_out, g.const(lanes))) as (then, otherwise):
                with then:
                    rows(rule, 1, penalty)
                with otherwise:
                    rows(rule, NARROW_VECTORS, penalty)

        rule = g.idx(10)
        for r in (RULE_PLAIN, RULE_MOMENTUM, RULE_NESTEROV, RULE_PREVIOUS):
            with b.if_then(b.icmp_signed("==", rule, g.const(r))):
                if r == RULE_PREVIOUS:
                    widths(r, True)
                    continue
                no_penalty = b.fcmp_ordered("==", b.extract_element(alpha, ir.Constant(_I32, 0)),
                                            zero)
                with b.if_else(no_penalty) as (then, otherwise):
                    with then:
                        widths(r, False)
                    with otherwise:
                        widths(r, True)
        return context.get_dummy_value()

    return sig, codegen


# ---------------------------------------------------------------------------
# a stretch of one or two convolution maps, held in registers for all the taps

CONV_VECTORS = 4  # 64-byte vectors of map positions a ``conv_tile`` call holds a filter


def _conv_tile_codegen(n_filters):
    def codegen(context, builder, signature, args):
        g = _Gen(context, builder, signature, args)
        b, lanes = builder, g.lanes
        z0, fw, fb, n_c, kh, kw, wd, hw, lz, m0 = (g.idx(i) for i in (1, 4, 5, 6, 7, 8, 9, 10,
                                                                        11, 12))
        pz = g.ptr(0, g.const(0))
        px = g.ptr(2, m0)
        pw = g.ptr(3, g.const(0))
        taps = b.mul(b.mul(n_c, kh), kw)
        zs = [b.add(b.add(z0, b.mul(lz, g.const(f))), m0) for f in range(n_filters)]
        accs = [[cgutils.alloca_once_value(b, g.splat(g.load(pw, b.add(fb, g.const(f)))))
                 for _ in range(CONV_VECTORS)] for f in range(n_filters)]
        # taps in (ch, i, j) order; filter f's tap at fw + f*taps + ((ch*kh + kh-1-i)*kw + kw-1-j)
        with cgutils.for_range(b, n_c) as lc:
            ch = lc.index
            with cgutils.for_range(b, kh) as li:
                i = li.index
                row_w = b.add(b.mul(b.add(b.mul(ch, kh), b.sub(b.sub(kh, g.const(1)), i)), kw),
                              b.sub(kw, g.const(1)))
                row_x = b.add(b.mul(ch, hw), b.mul(i, wd))
                with cgutils.for_range(b, kw) as lj:
                    j = lj.index
                    xo = b.add(row_x, j)
                    xs = [g.vload(px, b.add(xo, g.const(v * lanes))) for v in range(CONV_VECTORS)]
                    for f in range(n_filters):
                        wo = b.add(b.add(fw, b.mul(taps, g.const(f))), b.sub(row_w, j))
                        wf = g.splat(g.load(pw, wo))
                        for v in range(CONV_VECTORS):
                            b.store(b.fadd(b.load(accs[f][v]), b.fmul(wf, xs[v])), accs[f][v])
        for f in range(n_filters):
            for v in range(CONV_VECTORS):
                g.vstore(b.load(accs[f][v]), pz, b.add(zs[f], g.const(v * lanes)))
        return context.get_dummy_value()
    return codegen


def _make_conv_tile(n_filters):
    def conv_tile(typingctx, z, z0, x, w, fw, fb, n_c, kh, kw, wd, hw, lz, m0):
        if not _float_arrays(z, x, w):
            return None
        sig = types.void(z, z0, x, w, fw, fb, n_c, kh, kw, wd, hw, lz, m0)
        return sig, _conv_tile_codegen(n_filters)
    conv_tile.__name__ = f"conv_tile{n_filters}"
    conv_tile.__doc__ = f"""Positions ``m0 <= m < m0 + CONV_VECTORS*L`` (``L`` lanes) of {n_filters}
    map(s): ``z[z0 + f*lz + m] = w[fb + f] + sum_{{ch, i, j}} w[fw + f*n_c*kh*kw +
    (ch*kh + kh-1-i)*kw + kw-1-j] * x[ch*hw + i*wd + j + m]`` for ``f < {n_filters}``,
    the bias first and the taps in ``(ch, i, j)`` order, each product rounded:
    ``conv._conv_maps``' bits. Positions computed twice get the same bits
    twice, so stretches may overlap. The sums stay in registers for all the
    taps, and each tap's stretch of the image is loaded once for the filters:
    the loop a tap at a time over the whole map loads and stores the map for
    every (four) taps."""
    return intrinsic(conv_tile)


_conv_tile2 = _make_conv_tile(2)
_conv_tile1 = _make_conv_tile(1)


# ---------------------------------------------------------------------------
# 2 x 2 max pooling, a row of windows in the lanes of a vector

@intrinsic
def _pool2_row(typingctx, z, zo, r0, wd, n_cells, pooled, k0, arg):
    """One row of 2 x 2 windows of the map at ``z[zo:]``: for ``c < n_cells``,
    the maximum of the values at positions ``r0 + 2c``, ``r0 + 2c + 1``,
    ``r0 + wd + 2c``, ``r0 + wd + 2c + 1`` (taken in that order, a value
    replacing the best only when greater: ties go to the first, and a NaN
    after the first never wins) into ``pooled[k0 + c]``, and its position
    into ``arg[k0 + c]``: ``conv._pool_maps``' values.

    A vector of ``L`` windows at a time (``L`` lanes), the even and odd
    columns of two map rows split apart with shuffles; the last vector
    loads and stores masked, so nothing outside the windows is touched.
    """
    if not (_float_arrays(z, pooled) and _int_array(arg)):
        return None
    sig = types.void(z, zo, r0, wd, n_cells, pooled, k0, arg)

    def codegen(context, builder, signature, args):
        g = _Gen(context, builder, signature, args)
        b, lanes = builder, g.lanes
        a0, wd, n_cells = g.idx(2), g.idx(3), g.idx(4)
        pz = g.ptr(0, g.idx(1))
        pp = g.ptr(5, g.idx(6))
        pa = g.ptr(7, g.idx(6))
        even = ir.Constant(ir.VectorType(_I32, lanes), list(range(0, 2 * lanes, 2)))
        odd = ir.Constant(ir.VectorType(_I32, lanes), list(range(1, 2 * lanes, 2)))
        n_vec = b.sdiv(b.add(n_cells, g.const(lanes - 1)), g.const(lanes))
        with cgutils.for_range(b, n_vec) as loop:
            c0 = b.mul(loop.index, g.const(lanes))
            left = g.splat(b.sub(n_cells, c0))
            values = b.mul(left, g.splat(g.const(2)))  # map values left in the two rows
            cells = b.icmp_signed("<", g.lane_ids, left)
            lo = b.icmp_signed("<", g.lane_ids, values)
            hi = b.icmp_signed("<", b.add(g.lane_ids, g.splat(g.const(lanes))), values)

            def row(r_off):
                base = b.add(b.add(a0, r_off), b.mul(c0, g.const(2)))
                v0 = g.masked_load(pz, base, lo)
                v1 = g.masked_load(pz, b.add(base, g.const(lanes)), hi)
                return b.shuffle_vector(v0, v1, even), b.shuffle_vector(v0, v1, odd)

            top, bottom = row(g.const(0)), row(wd)
            at0 = b.add(g.splat(b.add(a0, b.mul(c0, g.const(2)))),
                        b.mul(g.lane_ids, g.splat(g.const(2))))
            best, at = top[0], at0
            later = ((top[1], g.const(1)), (bottom[0], wd), (bottom[1], b.add(wd, g.const(1))))
            for v, off in later:
                take = b.fcmp_ordered(">", v, best)
                at = b.select(take, b.add(at0, g.splat(off)), at)
                best = b.select(take, v, best)
            g.masked_store(best, pp, c0, cells)
            g.masked_store(at, pa, c0, cells, g.intp)
        return context.get_dummy_value()

    return sig, codegen


# ---------------------------------------------------------------------------
# a filter's gradient from its routed deltas, a row of taps to a register

TAP_LANES = 8  # taps of a filter row a vector holds (filters up to 8 wide take this path)
TAP_ROWS = 8   # filter rows (channel, row) a ``tap_rows`` call sums


@intrinsic
def _tap_rows(typingctx, out, o0, ostep, x, x0, xstep, n_rows, dp, arg, k0, cells, kw):
    """``out[o0 + q*ostep - j] = sum_{k < cells} dp[k0 + k] * x[x0 + q*xstep + arg[k0 + k] + j]``
    for rows ``q < n_rows`` (at most ``TAP_ROWS``) and taps ``j < kw`` (at most
    ``TAP_LANES``): the gradient of ``n_rows`` rows of a filter stored flipped
    (``conv._filter_gradient_maps``), from the deltas ``dp`` routed to
    positions ``arg`` of the map.

    A cell at a time in order, each row's ``kw`` taps in the lanes of one
    vector (loaded masked, so nothing past ``kw`` is read) and every row's
    sum in a register for all the cells; a loop over the cells for each
    number of rows, so that loop tests none. Each sum adds its products in
    the order of ``k``, each product rounded.
    """
    if not (_float_arrays(out, x, dp) and _int_array(arg)):
        return None
    sig = types.void(out, o0, ostep, x, x0, xstep, n_rows, dp, arg, k0, cells, kw)

    def codegen(context, builder, signature, args):
        g = _Gen(context, builder, signature, args, lanes=TAP_LANES)
        b = builder
        o0, ostep, x0, xstep, n_rows, k0, n_cells, kw = (g.idx(i) for i in (1, 2, 4, 5, 6, 9, 10,
                                                                             11))
        px, pd, pa, po = g.ptr(3, g.const(0)), g.ptr(7, k0), g.ptr(8, k0), g.ptr(0, g.const(0))
        mask = b.icmp_signed("<", g.lane_ids, g.splat(kw))
        accs = [cgutils.alloca_once_value(b, ir.Constant(g.vty, None)) for _ in range(TAP_ROWS)]

        def cells_loop(n_live):
            with cgutils.for_range(b, n_cells) as loop:
                k = loop.index
                gv = g.splat(g.load(pd, k))
                pos = b.add(x0, g.load(pa, k, g.intp))
                for q in range(n_live):
                    xs = g.masked_load(px, b.add(pos, b.mul(xstep, g.const(q))), mask)
                    b.store(b.fadd(b.load(accs[q]), b.fmul(gv, xs)), accs[q])

        def dispatch(n_live):
            if n_live == TAP_ROWS:
                cells_loop(n_live)
                return
            with b.if_else(b.icmp_signed("==", n_rows, g.const(n_live))) as (this, other):
                with this:
                    cells_loop(n_live)
                with other:
                    dispatch(n_live + 1)

        dispatch(1)
        for q in range(TAP_ROWS):
            with b.if_then(b.icmp_signed("<", g.const(q), n_rows)):
                acc = b.load(accs[q])
                row = b.add(o0, b.mul(ostep, g.const(q)))
                with cgutils.for_range(b, kw) as loop:
                    j = loop.index
                    b.store(b.extract_element(acc, j), g.at(po, b.sub(row, j)))
        return context.get_dummy_value()

    return sig, codegen


# ---------------------------------------------------------------------------
# the intrinsics as loops: their Python forms under NUMBA_DISABLE_JIT (the tests
# compile these and compare them with the intrinsics, bit for bit; register_jitable
# lets the compiled ones call each other)

def _cycles_py():
    """``cycles``: nanoseconds stand in for cycles (Python only)."""
    return time.perf_counter_ns()


def _float64_from_bits_py(bits):
    """``float64_from_bits``: the int64's bits read as a float64 (Python only)."""
    return np.array(bits, dtype=np.int64).view(np.float64)[()]


@register_jitable
def _nonzero_positions_py(x, n, out):
    """``nonzero_positions`` as a loop (the branch-free listing it replaced)."""
    count = 0
    for i in range(n):
        out[count] = i
        count += x[i] != 0.0
    return count


@register_jitable
def _listed_rows_sum_py(acc, a0, x, rows, n_rows, w, v, w0, n_out, geo):
    """``listed_rows_sum`` as loops."""
    T = w.dtype.type
    for t in range(n_rows):
        r = rows[t]
        for j in range(n_out):
            k = w0 + r * n_out + j
            wk = w[k] + v[k] * T(geo[r]) if geo[r] >= 0.0 else w[k]
            acc[a0 + j] += x[r] * wk


@register_jitable
def _narrow_rows_sum_py(acc, a0, x, x0, w, w0, n_in, n_out):
    """``narrow_rows_sum`` as loops."""
    for i in range(n_in):
        v = x[x0 + i]
        if v != 0.0:
            for j in range(n_out):
                acc[a0 + j] += v * w[w0 + i * n_out + j]


@register_jitable
def _narrow_rows_update_py(params, vel, w0, n_in, n_out, inp, i0, delta, d0, skip, rule, alpha,
                           mom, lr):
    """``narrow_rows_update`` as loops (``dense._update_rows``' SGD arithmetic)."""
    T = params.dtype.type
    alpha, mom, lr = T(alpha), T(mom), T(lr)
    for i in range(n_in):
        x = T(inp[i0 + i])
        if skip and x == 0.0:
            continue
        row = w0 + i * n_out
        for j in range(n_out):
            k = row + j
            g = x * delta[d0 + j]
            if alpha != 0.0 or rule == RULE_PREVIOUS:
                g += alpha * params[k]
            if rule == RULE_PLAIN:
                params[k] -= lr * g
            elif rule == RULE_PREVIOUS:
                params[k] -= lr * g + mom * vel[k]
                vel[k] = g
            else:
                v = mom * vel[k] - lr * g
                vel[k] = v
                params[k] += v if rule == RULE_MOMENTUM else mom * v - lr * g


@register_jitable
def _lanes_of(a):
    return 16 if a.itemsize == 4 else 8   # (an array's itemsize: numba types no dtype.itemsize)


@register_jitable
def _lane_dot_py(a, a0, b, b0, n):
    """``lane_dot`` as loops: each lane's running sum, then the halving."""
    lanes = _lanes_of(a)
    if n < lanes:
        s = a.dtype.type(0.0)
        for k in range(n):
            s = s + a[a0 + k] * b[b0 + k]
        return s
    acc = np.zeros((2, lanes), a.dtype)
    chunks = n // lanes
    for c in range(chunks):
        for t in range(lanes):
            acc[c % 2, t] += a[a0 + c * lanes + t] * b[b0 + c * lanes + t]
    rem = n - chunks * lanes
    if rem > 0:
        for t in range(lanes):
            p = a[a0 + n - lanes + t] * b[b0 + n - lanes + t]
            acc[0, t] += p if t >= lanes - rem else a.dtype.type(0.0)
    v = np.empty(lanes, a.dtype)
    for t in range(lanes):
        v[t] = acc[0, t] + acc[1, t]
    width = lanes
    while width > 1:
        width //= 2
        for t in range(width):
            v[t] = v[t] + v[t + width]
    return v[0]


@register_jitable
def _lane_dot4_py(a, a0, b, b0, step, n):
    """``lane_dot4`` as four ``lane_dot``."""
    return (_lane_dot_py(a, a0, b, b0, n), _lane_dot_py(a, a0, b, b0 + step, n),
            _lane_dot_py(a, a0, b, b0 + 2 * step, n), _lane_dot_py(a, a0, b, b0 + 3 * step, n))


@register_jitable
def _rows_tile4_py(acc, a0, astride, x, x0, xstride, xstep, w, w0, n_in, n_out, zeros):
    """``rows_tile4`` as loops: ``dense._add_four_rows``' order and skips."""
    quads = n_in // 4
    for t in range(TILE_IMAGES):
        xt = x0 + t * xstride
        for j in range(TILE_VECTORS * _lanes_of(acc)):
            s = acc[a0 + t * astride + j]
            for q in range(quads):
                i = 4 * q
                v0, v1 = x[xt + i * xstep], x[xt + (i + 1) * xstep]
                v2, v3 = x[xt + (i + 2) * xstep], x[xt + (i + 3) * xstep]
                if zeros and v0 == 0.0 and v1 == 0.0 and v2 == 0.0 and v3 == 0.0:
                    continue
                s = (((s + v0 * w[w0 + i * n_out + j]) + v1 * w[w0 + (i + 1) * n_out + j])
                     + v2 * w[w0 + (i + 2) * n_out + j]) + v3 * w[w0 + (i + 3) * n_out + j]
            for i in range(4 * quads, n_in):
                v = x[xt + i * xstep]
                if not (zeros and v == 0.0):
                    s = s + v * w[w0 + i * n_out + j]
            acc[a0 + t * astride + j] = s


def _conv_tile_py(n_filters):
    @register_jitable
    def conv_tile(z, z0, x, w, fw, fb, n_c, kh, kw, wd, hw, lz, m0):
        """``conv_tile`` as loops: a position at a time, the taps in ``(ch, i, j)`` order."""
        taps = n_c * kh * kw
        for f in range(n_filters):
            for p in range(CONV_VECTORS * _lanes_of(z)):
                m = m0 + p
                s = w[fb + f]
                for ch in range(n_c):
                    for i in range(kh):
                        for j in range(kw):
                            s = s + (w[fw + f * taps + (ch * kh + kh - 1 - i) * kw + kw - 1 - j]
                                     * x[ch * hw + i * wd + j + m])
                z[z0 + f * lz + m] = s
    return conv_tile


_conv_tile2_py = _conv_tile_py(2)
_conv_tile1_py = _conv_tile_py(1)


@register_jitable
def _pool2_row_py(z, zo, r0, wd, n_cells, pooled, k0, arg):
    """``pool2_row`` as loops: a window at a time."""
    for c in range(n_cells):
        at0 = r0 + 2 * c
        best, at = z[zo + at0], at0
        for off in (1, wd, wd + 1):
            v = z[zo + at0 + off]
            if v > best:
                best, at = v, at0 + off
        pooled[k0 + c] = best
        arg[k0 + c] = at


@register_jitable
def _tap_rows_py(out, o0, ostep, x, x0, xstep, n_rows, dp, arg, k0, cells, kw):
    """``tap_rows`` as loops: a tap at a time, the cells in order."""
    for q in range(n_rows):
        for j in range(kw):
            s = out.dtype.type(0.0)
            for k in range(cells):
                s = s + dp[k0 + k] * x[x0 + q * xstep + arg[k0 + k] + j]
            out[o0 + q * ostep - j] = s


# the public names: the intrinsics, or under NUMBA_DISABLE_JIT their loops
if config.DISABLE_JIT:
    cycles = _cycles_py
    (float64_from_bits, lane_dot, lane_dot4, rows_tile4, nonzero_positions, listed_rows_sum,
     narrow_rows_sum, narrow_rows_update, conv_tile2, conv_tile1, pool2_row, tap_rows) = (
        _float64_from_bits_py, _lane_dot_py, _lane_dot4_py, _rows_tile4_py, _nonzero_positions_py,
        _listed_rows_sum_py, _narrow_rows_sum_py, _narrow_rows_update_py, _conv_tile2_py,
        _conv_tile1_py, _pool2_row_py, _tap_rows_py)
else:
    cycles = _cycles
    (float64_from_bits, lane_dot, lane_dot4, rows_tile4, nonzero_positions, listed_rows_sum,
     narrow_rows_sum, narrow_rows_update, conv_tile2, conv_tile1, pool2_row, tap_rows) = (
        _float64_from_bits, _lane_dot, _lane_dot4, _rows_tile4, _nonzero_positions,
        _listed_rows_sum, _narrow_rows_sum, _narrow_rows_update, _conv_tile2, _conv_tile1,
        _pool2_row, _tap_rows)
