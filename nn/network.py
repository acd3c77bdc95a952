"""A multilayer perceptron in the vocabulary of Nielsen's network.py and network2.py; not its training loop.

Notation, as in the book: `sizes` are the layer sizes, layer l has weights w (n_out, n_in)
and biases b (n_out,), z = w a + b is the weighted input and a = f(z) the activation;
`delta` is dC/dz, `nabla_w` and `nabla_b` are dC/dw and dC/db. Hidden layers use the
activation named at construction (sigmoid, tanh, relu); the output layer uses what the
cost needs (sigmoid for the quadratic and cross-entropy costs, softmax for the
log-likelihood).

A Network is one network or a stack of K networks of the same shape ("members", trained
together: nn.training), and the code is the same for both: every parameter array has a
leading shape, () for one network and (K,) for a stack, and NumPy's matmul broadcasts over
it. A one-network step uses np.dot, the same BLAS product with ~0.4 us less dispatch.

Differences from the book, all for speed (nn/per_sample.py is the book's algorithm as the
book writes it; tests/test_per_sample.py checks that both take the same steps):
- a batch is a matrix whose *rows* are examples, so X has shape (m, n_in) and a layer
  computes z = a @ w.T + b for all m examples in one matrix product;
- each layer keeps w and b side by side in one (n_out, n_in + 1) matrix [w | b], and the
  training step appends a 1 to every layer's input, so that z = [a, 1] @ [w | b].T. The
  bias then needs no add in the forward pass, no sum in backprop and no update of its
  own. With m = 10 a step is ~25 NumPy calls of ~0.5 us each around two ~6 us products,
  so calls are what costs: this makes an epoch of [784, 30, 10] ~10% faster (measured),
  although the odd width 785 slows the first layer's products by ~1.5 us.
  `weights` and `biases` are views into those matrices, so they stay the live parameters;
- update_mini_batch writes into arrays allocated once per mini-batch size (Workspace),
  and scales the output delta by -eta/m, so that backprop yields the updates themselves.
"""

from dataclasses import dataclass

import numpy as np

from nn.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from nn.costs import COSTS, total
from nn.initializers import INITIALIZERS

DTYPES = {"float32": np.float32, "float64": np.float64}


@dataclass(frozen=True)
class Classification:
    """What the network says of one image."""

    output: np.ndarray  # (n_L,) activations of the output layer
    digit: int  # index of the most active output neuron
    confidence: float  # that neuron's activation, in (0, 1)


class Workspace:
    """The arrays a training step on m examples writes to, allocated once and reused.

    Every array has the network's leading shape in front ((), or (K,) for a stack).
    For weights l (the layer l + 1 they feed), with n = sizes[l + 1]:
    zs[l]: (m, n), z and then, in place, a = f(z), contiguous because ufuncs on a
        strided view run 2-3x slower at these sizes; z_out: (m, n_L), the output layer's
        z kept apart when the cost needs it (else None);
    ins[l]: (m, sizes[l] + 1), the layer's input with its last column of ones (ins[0] is
        the caller's X or `inputs`); heads[l] is its (m, sizes[l]) view without the ones;
    deltas[l], primes[l]: (m, n), delta and f'(z); nablas[l]: (n, sizes[l] + 1),
        [nabla_w | nabla_b].
    """

    def __init__(self, sizes, m, dtype, lead=(), keep_z=False):
        def empty(*shape):
            return np.empty(lead + shape, dtype)

        self._input_shape, self._dtype = lead + (m, sizes[0] + 1), dtype
        self.inputs = None  # for an X without its ones column, made when first needed
        self.ins = [None] + [np.ones(lead + (m, n + 1), dtype) for n in sizes[1:-1]]
        self.heads = [None] + [a[..., :-1] for a in self.ins[1:]]
        self.zs = [empty(m, n) for n in sizes[1:]]
        # each hidden layer's z, and the next layer's input (with ones, and its view without)
        self.hidden = list(zip(self.zs[:-1], self.ins[1:], self.heads[1:]))
        self.z_out = empty(m, sizes[-1]) if keep_z else None
        self.deltas = [empty(m, n) for n in sizes[1:]]
        self.deltas_T = [delta.swapaxes(-1, -2) for delta in self.deltas]  # views, made once
        self.primes = [empty(m, n) for n in sizes[1:]]
        self.nablas = [empty(n_out, n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.scratch = [empty(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]

    def input_buffer(self, X):
        """X copied beside a column of ones, into a buffer kept for the next call: (m, n_0 + 1).

        Made on first use: SGD passes inputs that have their ones column already, and a
        full-batch step's copy of the training set would be hundreds of megabytes.
        """
        if self.inputs is None:
            self.inputs = np.ones(self._input_shape, self._dtype)
        self.inputs[..., :-1] = X
        return self.inputs


def parameter_count(sizes):
    """Weights and biases of a network of layer sizes `sizes`: sum of n_in * n_out + n_out."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


class Network:
    """Parameters plus feedforward and backprop: the math of one network (or a stack), nothing else.

    sizes: layer sizes, first the input, last the output, e.g. [784, 30, 10].
    rng: a np.random.Generator (or a seed for one) that draws the initial parameters.
    dtype: "float32" or "float64". activation: the hidden layers' ("sigmoid", "tanh",
    "relu"). cost: "quadratic", "cross_entropy" or "log_likelihood" (nn.costs).
    init: "normal" (every weight and bias N(0, 1), network.py), "scaled" (weights
    N(0, 1/n_in), network2.py) or "he" (weights N(0, 2/n_in), biases 0) (nn.initializers).
    weights[l]: (sizes[l+1], sizes[l]); biases[l]: (sizes[l+1],), with the leading shape
    in front for a stack (Network.stack). Both are views into one matrix per layer: change
    them in place (net.weights[0][...] = w), don't rebind them.
    velocities: the v of momentum-based gradient descent, one array like each [w | b],
    zero until update_mini_batch is first called with momentum.
    """

    def __init__(self, sizes, rng, dtype="float32", activation="sigmoid", cost="quadratic",
                 init="normal"):
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must be at least two positive layer sizes, got {sizes}")
        weights, biases = INITIALIZERS[init](np.random.default_rng(rng), sizes)
        dtype = np.dtype(DTYPES.get(dtype, dtype))
        self._setup(sizes, [np.column_stack([w, b]).astype(dtype) for w, b in zip(weights, biases)],
                    activation, cost, init)

    def _setup(self, sizes, wb, activation, cost, init, velocities=None):
        self.sizes = list(sizes)
        self.num_layers = len(sizes)
        self.settings = {"activation": activation, "cost": cost, "init": init}
        self.activation, self.activation_prime = ACTIVATIONS[activation]
        self.cost = COSTS[cost]
        self.output_activation = OUTPUT_ACTIVATIONS[self.cost.output]
        self._wb = wb  # [(lead..., n_out, n_in + 1)]
        self.dtype = wb[0].dtype
        self.lead = wb[0].shape[:-2]  # () for one network, (K,) for a stack of K
        # np.dot of two 2-D arrays is the same BLAS product as matmul, with less dispatch
        self._product = np.dot if not self.lead else np.matmul
        self.velocities = velocities
        self._link_views()

    @classmethod
    def from_parameters(cls, sizes, wb, activation="sigmoid", cost="quadratic", init="normal",
                        velocities=None):
        """A Network holding the given [w | b] matrices (lead..., n_out, n_in + 1), not copied."""
        network = cls.__new__(cls)
        network._setup(sizes, list(wb), activation, cost, init, velocities)
        return network

    @classmethod
    def stack(cls, networks):
        """One Network of the K given networks' parameters, copied: leading shape (K,)."""
        first = networks[0]
        for other in networks[1:]:
            if (other.sizes, other.dtype, other.settings) != (first.sizes, first.dtype,
                                                              first.settings):
                raise ValueError("only networks of the same sizes, dtype, activation, cost "
                                 "and initialization can be stacked")
        wb = [np.stack([network._wb[l] for network in networks])
              for l in range(first.num_layers - 1)]
        velocities = None
        if any(network.velocities is not None for network in networks):
            velocities = [np.stack([network._velocity(l) for network in networks])
                          for l in range(first.num_layers - 1)]
        return cls.from_parameters(first.sizes, wb, velocities=velocities, **first.settings)

    @property
    def wb(self):
        """The [w | b] matrices, one per layer: (lead..., n_out, n_in + 1), the live parameters."""
        return self._wb

    def copy(self):
        """A copy of the parameters (and velocities) as a Network of its own."""
        velocities = None if self.velocities is None else [v.copy() for v in self.velocities]
        return Network.from_parameters(self.sizes, [wb.copy() for wb in self._wb],
                                       velocities=velocities, **self.settings)

    def member(self, k):
        """A copy of member k of a stack, as a Network of its own (leading shape ())."""
        velocities = None if self.velocities is None else [v[k].copy() for v in self.velocities]
        return Network.from_parameters(self.sizes, [wb[k].copy() for wb in self._wb],
                                       velocities=velocities, **self.settings)

    def reshaped(self, lead):
        """The same members under another leading shape, (8, 2) for a stack of 16: a Network
        whose parameters and velocities are views of these, so that its steps are theirs.

        Its inputs may then broadcast over an axis of the new shape: a step of
        X (8, 1, m, n_0 + 1) gives members 2k and 2k + 1 the same mini-batch, read once.
        """
        def view(arrays):
            return None if arrays is None else [a.reshape(lead + a.shape[-2:]) for a in arrays]

        return Network.from_parameters(self.sizes, view(self._wb),
                                       velocities=view(self.velocities), **self.settings)

    def select(self, members):
        """Keep only these members of a stack (indices, in this order), in place."""
        members = np.asarray(members, dtype=np.intp)
        wb = [w[members] for w in self._wb]
        velocities = None if self.velocities is None else [v[members] for v in self.velocities]
        self._setup(self.sizes, wb, velocities=velocities, **self.settings)

    def start_velocities(self):
        """Give the network momentum's velocities, zero, if it has none yet."""
        if self.velocities is None:
            self.velocities = [np.zeros_like(wb) for wb in self._wb]

    def _velocity(self, l):
        return self.velocities[l] if self.velocities is not None else np.zeros_like(self._wb[l])

    def _link_views(self):
        self.weights = [wb[..., :-1] for wb in self._wb]  # (lead..., n_out, n_in) views
        self.biases = [wb[..., -1] for wb in self._wb]  # (lead..., n_out) views
        self._wb_T = [wb.swapaxes(-1, -2) for wb in self._wb]  # (lead..., n_in + 1, n_out)
        self._workspaces = {}  # mini-batch size m -> Workspace, for update_mini_batch

    def __getstate__(self):  # pickle and deepcopy: the views are rebuilt, not copied apart
        return {"sizes": self.sizes, "wb": self._wb, "velocities": self.velocities,
                **self.settings}

    def __setstate__(self, state):
        self._setup(state.pop("sizes"), state.pop("wb"), velocities=state.pop("velocities"),
                    **state)

    def feedforward(self, X):
        """Output activations for a batch. X: (m, sizes[0]), shared by every member of a
        stack, or (lead..., m, sizes[0]) -> (lead..., m, sizes[-1])."""
        return self._activations(X)[-1]

    def _activations(self, X):
        """Every layer's activation for a batch, the input first: [(m, n_0), ..., (m, n_L)].

        The book's a = f(w a + b), with w and b apart: for evaluation on many examples
        appending a ones column to X would cost a copy of X. Inputs shared by a stack go
        through its first layer in _shared_product.
        """
        activations = [X]
        last = self.num_layers - 2
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            f = self.output_activation if l == last else self.activation
            a = activations[-1]
            if len(self.lead) == 1 and a.ndim == 2:  # (m, n_in), shared by every member
                z = _shared_product(a, w)  # (K, m, n_out)
            else:
                z = a @ w.swapaxes(-1, -2)  # (lead..., m, n_out)
            z += b[..., np.newaxis, :]
            activations.append(f(z, out=z))  # in place
        return activations

    def backprop(self, X, Y, activations=None):
        """Gradient of the cost summed over the batch, as (nabla_b, nabla_w).

        X: (m, sizes[0]) inputs, Y: (m, sizes[-1]) desired outputs (one network).
        nabla_b[l]: (sizes[l+1],), nabla_w[l]: (sizes[l+1], sizes[l]), like biases and weights.
        `activations` may pass a forward pass already made on X (as _activations returns it).
        """
        work = Workspace(self.sizes, len(X), self.dtype, self.lead, self.cost.needs_z)
        if activations is None:
            self._forward(work, X)
        else:  # the same arrays _forward would have filled
            work.ins[0] = work.input_buffer(X)
            for l, a in enumerate(activations[1:]):
                work.zs[l][...] = a
                if l + 1 < len(work.ins):
                    work.heads[l + 1][...] = a
            if work.z_out is not None:
                work.z_out[...] = self._weighted_output(activations[-2])
        self.cost.delta(work.z_out, work.zs[-1], Y, out=work.deltas[-1])
        self._backward(work)
        return [n[..., -1] for n in work.nablas], [n[..., :-1] for n in work.nablas]

    def _weighted_output(self, a):
        return a @ self.weights[-1].swapaxes(-1, -2) + self.biases[-1][..., np.newaxis, :]

    def cost_of(self, X, Y):
        """The cost summed over a batch, the cost function's fn on a forward pass: (lead...)."""
        activations = self._activations(X)
        return self.cost.fn(self._weighted_output(activations[-2]), activations[-1], Y)

    def update_mini_batch(self, X, Y, eta, lmbda=0.0, n=1, momentum=0.0):
        """One step of gradient descent on a mini-batch; returns the batch's summed cost.

        X: (lead..., m, sizes[0]), or (lead..., m, sizes[0] + 1) whose last column is all
        ones (SGD passes its inputs so, to save a copy per step). Y: (lead..., m, sizes[-1]).
        Either may have 1 for an axis of the leading shape: the members along it share it.
        eta, lmbda, momentum: numbers, or float64 arrays of the leading shape (one per member).
        The update is network2.py's with L2 regularization on a training set of n examples,
            w <- (1 - eta lmbda / n) w - (eta / m) sum_x nabla_w C_x,  b <- b - (eta / m) sum_x nabla_b C_x,
        or with momentum mu (chapter 3), on the same gradient of the regularized cost,
            v <- mu v - eta (nabla C + lmbda / n w),  w <- w + v  (and the same for b, unregularized).
        The cost comes from the forward pass that backprop needs anyway (lmbda's term not
        included: nn.training adds it once per epoch).
        """
        m = X.shape[-2]
        work = self._workspaces.get(m) or self._new_workspace(m)
        self._forward(work, X)
        cost, delta = self.cost.sum_and_delta(work.z_out, work.zs[-1], Y,
                                              out=work.deltas[-1])  # (lead..., m, n_L)
        # Every nabla is linear in the output delta, so scaling it by -eta/m once makes
        # backprop produce the updates themselves: w <- w + nabla, one call per layer.
        scale = -eta / m
        delta *= scale if not isinstance(scale, np.ndarray) else self._factor(scale)
        self._backward(work)
        if _is_zero(lmbda) and _is_zero(momentum):
            for wb, nabla in zip(self._wb, work.nablas):
                wb += nabla  # [w | b] <- [w | b] - (eta / m) [nabla_w | nabla_b]
        else:
            self._regularized_or_momentum_update(work.nablas, work.scratch, eta * lmbda / n,
                                                 momentum)
        return cost

    def _regularized_or_momentum_update(self, nablas, scratch, decay, momentum):
        """The update with L2 (decay = eta lmbda / n) and/or momentum, nablas = -(eta/m) sum nabla C."""
        if _is_zero(momentum):
            for w, wb, nabla in zip(self.weights, self._wb, nablas):
                w *= self._factor(1 - decay)  # w <- (1 - eta lmbda / n) w, biases untouched
                wb += nabla
            return
        if self.velocities is None:  # no call a step once they exist
            self.start_velocities()
        for w, wb, v, nabla, buffer in zip(self.weights, self._wb, self.velocities, nablas,
                                           scratch):
            v *= self._factor(momentum)
            v += nabla  # v <- mu v - (eta / m) [nabla_w | nabla_b]
            if not _is_zero(decay):
                v[..., :-1] -= np.multiply(w, self._factor(decay), out=buffer)  # - eta lmbda/n w
            wb += v

    def _factor(self, value):
        """A number as is; per-member values (lead...), computed in float64 by the caller, as
        an array of the network's dtype that broadcasts over (lead..., m, n).

        Rounded to the dtype once, as NumPy rounds a Python number: so a member of a stack
        is scaled by exactly what it would be scaled by alone.
        """
        if not isinstance(value, np.ndarray):
            return value
        return value.astype(self.dtype).reshape(self.lead + (1, 1))

    def _new_workspace(self, m):
        if len(self._workspaces) >= 4:  # SGD uses two sizes; don't grow without bound
            self._workspaces.clear()
        self._workspaces[m] = Workspace(self.sizes, m, self.dtype, self.lead, self.cost.needs_z)
        return self._workspaces[m]

    def _forward(self, work, X):
        """Fill work.zs (the activations) from X: (lead..., m, n_0), or with its ones column."""
        if X.shape[-1] == self.sizes[0]:
            X = work.input_buffer(X)  # copied next to the ones column
        work.ins[0] = a = X  # (lead..., m, n_0 + 1), or (m, n_0 + 1) shared by a stack
        product = self._product
        for wb_T, (z, a_next, head) in zip(self._wb_T, work.hidden):  # all but the last layer
            product(a, wb_T, out=z)  # (m, n_in + 1) @ (n_in + 1, n_out): z = w a + b
            self.activation(z, out=z)  # a = f(z), in place
            head[...] = z  # the next layer's input, beside its ones column
            a = a_next  # (lead..., m, n_out + 1)
        if work.z_out is None:
            product(a, self._wb_T[-1], out=work.zs[-1])
            self.output_activation(work.zs[-1], out=work.zs[-1])
        else:  # the cost needs z itself
            product(a, self._wb_T[-1], out=work.z_out)
            self.output_activation(work.z_out, out=work.zs[-1])

    def _backward(self, work):
        """Fill work.nablas from the forward pass and the output delta in work.deltas[-1].

        Rows are examples, so delta.T @ a adds up the per-example outer products that the
        book's loop computes one at a time; the last column (a's ones) is nabla_b.
        """
        for l in range(self.num_layers - 2, -1, -1):  # from the last layer back
            delta = work.deltas[l]  # (lead..., m, n_{l+1})
            if l > 0:
                # delta^l = (delta^{l+1} w^{l+1}) * f'(z^l), before w^{l+1} changes;
                # weights[l] is w without its bias column
                back = np.matmul(delta, self.weights[l], out=work.deltas[l - 1])  # (m, n_l)
                back *= self.activation_prime(work.zs[l - 1], out=work.primes[l - 1])
            # matmul, not np.dot: for delta.T (a transposed view) np.dot is 1.4 us slower
            np.matmul(work.deltas_T[l], work.ins[l], out=work.nablas[l])  # (n_{l+1}, n_l + 1)

    def evaluate(self, X, labels):
        """How many of the inputs the network classifies right. X: (n, sizes[0]), labels: (n,).

        An int for one network, an array of the leading shape for a stack.
        """
        predictions = self.feedforward(X).argmax(axis=-1)  # (lead..., n)
        correct = np.count_nonzero(predictions == labels, axis=-1)
        return int(correct) if not self.lead else correct

    def classify(self, x):
        """Output vector, predicted class and confidence for one input x: (sizes[0],)."""
        output = self.feedforward(np.asarray(x, dtype=self.dtype)[np.newaxis, :])[0]  # (n_L,)
        digit = int(output.argmax())
        return Classification(output=output, digit=digit, confidence=float(output[digit]))

    def parameters_finite(self):
        """True when no weight or bias is NaN or infinite; for a stack, one bool per member."""
        finite = [np.isfinite(wb).all(axis=(-2, -1)) for wb in self._wb]
        finite = np.logical_and.reduce(finite) if len(finite) > 1 else finite[0]
        return bool(finite) if not self.lead else finite

    def squared_weights(self):
        """sum of w^2 over every weight (not the biases), for L2's term: (lead...)."""
        return sum(total(w * w) for w in self.weights)


# (rows, weights' shape and strides, dtype) -> whether BLAS gives every member's columns
# of the side-by-side product the bits of the member's own product (_side_by_side_agrees)
_SIDE_BY_SIDE_AGREES = {}


def _shared_product(a, w):
    """a w_k^T for each member k, every one with the bits of its own product a @ w_k.T:
    a (m, n_in), shared, and w (K, n_out, n_in) -> (K, m, n_out), contiguous.

    One product with the K weight matrices side by side, (m, n_in) @ (n_in, K n_out), is
    2x faster than K products of n_out columns ([784, 30, 10], 16 networks, 10,000 images:
    74 against 146 ms), and at most shapes BLAS computes a member's columns of it with the
    bits of the member's own product, but not at every shape: OpenBLAS 0.3.31 rounds
    otherwise in float32 below ~100 rows, and in float64 at (m, 784) @ (784, 300) for any
    m, where its kernel for the last columns of a wide product sums in another order
    (tests/test_population.py has such shapes). So it is used only where it agrees.
    """
    if not (a.flags.c_contiguous and _side_by_side_agrees(len(a), w, a.dtype)):
        return a @ w.swapaxes(-1, -2)
    return _side_by_side(a, w)


def _side_by_side(a, w):
    """The product of a (m, n_in) with the K weight matrices w (K, n_out, n_in) side by
    side, (m, n_in) @ (n_in, K n_out), as (K, m, n_out), contiguous (as if its own)."""
    return np.ascontiguousarray(_columns_side_by_side(a, w).swapaxes(0, 1))


def _columns_side_by_side(a, w):
    """(m, n_in) @ (n_in, K n_out) with the K weight matrices w (K, n_out, n_in) side by
    side, as it comes out: (m, K, n_out)."""
    (m, n_in), (members, n_out) = a.shape, w.shape[:2]
    return (a @ w.reshape(-1, n_in).T).reshape(m, members, n_out)


def _side_by_side_agrees(m, w, dtype):
    """Whether _side_by_side gives each member's columns the bits of its own product for m
    contiguous rows and weights laid out as w (K, n_out, n_in) (the network's are views of
    [w | b], rows n_in + 1 apart): found out once a process, on random numbers laid out the
    same (which no NaN, infinity or zero of real inputs can make agree by chance), and kept.
    The answer holds while the BLAS keeps its number of threads (the sweep runs it with one).
    """
    dtype = np.dtype(dtype)  # float32 or float64
    key = (m, w.shape, w.strides, dtype.str)
    if key not in _SIDE_BY_SIDE_AGREES:
        rng = np.random.default_rng(0)
        members, n_out, n_in = w.shape
        a = rng.random((m, n_in), dtype=dtype)  # (m, n_in), contiguous
        span = sum((size - 1) * stride for size, stride in zip(w.shape, w.strides))
        w = np.lib.stride_tricks.as_strided(np.zeros(span // dtype.itemsize + 1, dtype),
                                            w.shape, w.strides)
        # every member the same weights: each one's own product is then one product, and
        # what is tested, whether a member's place among the columns changes its sums, is not
        w[...] = rng.standard_normal((n_out, n_in), dtype=dtype)
        own = a @ w[0].T  # (m, n_out)
        together = _columns_side_by_side(a, w)  # (m, K, n_out)
        bits = f"u{dtype.itemsize}"  # compared as integers: every bit, NaN or not
        _SIDE_BY_SIDE_AGREES[key] = all(np.array_equal(together[:, k].view(bits), own.view(bits))
                                        for k in range(members))
    return _SIDE_BY_SIDE_AGREES[key]


def _is_zero(value):
    """A number that is 0 (an array of per-member values never is: some member needs it)."""
    return not isinstance(value, np.ndarray) and value == 0
