"""A multilayer perceptron in the vocabulary of Nielsen's network.py; not its training loop.

Notation, as in the book: `sizes` are the layer sizes, layer l has weights w (n_out, n_in)
and biases b (n_out,), z = w a + b is the weighted input and a = sigma(z) the activation;
`delta` is dC/dz, `nabla_w` and `nabla_b` are dC/dw and dC/db.

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

from nn.activations import ACTIVATIONS
from nn.costs import COSTS

DTYPES = {"float32": np.float32, "float64": np.float64}


@dataclass(frozen=True)
class Classification:
    """What the network says of one image."""

    output: np.ndarray  # (n_L,) activations of the output layer
    digit: int  # index of the most active output neuron
    confidence: float  # that neuron's activation, in (0, 1)


class Workspace:
    """The arrays a training step on m examples writes to, allocated once and reused.

    For weights l (the layer l + 1 they feed), with n = sizes[l + 1]:
    zs[l]: (m, n), z and then, in place, a = sigma(z), contiguous because ufuncs on a
        strided view run 2-3x slower at these sizes;
    ins[l]: (m, sizes[l] + 1), the layer's input with its last column of ones (ins[0] is
        the caller's X or `inputs`); heads[l] is its (m, sizes[l]) view without the ones;
    deltas[l], primes[l]: (m, n), delta and sigma'(z); nablas[l]: (n, sizes[l] + 1),
        [nabla_w | nabla_b].
    """

    def __init__(self, sizes, m, dtype):
        self.inputs = np.ones((m, sizes[0] + 1), dtype)  # for an X without its ones column
        self.ins = [self.inputs] + [np.ones((m, n + 1), dtype) for n in sizes[1:-1]]
        self.heads = [a[:, :-1] for a in self.ins]
        # what layer l's activations are copied into: (ins, heads) of the next layer, if any
        self.next_ins = list(zip(self.ins[1:], self.heads[1:])) + [(None, None)]
        self.zs = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.deltas = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.primes = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.nablas = [np.empty((n_out, n_in + 1), dtype) for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def parameter_count(sizes):
    """Weights and biases of a network of layer sizes `sizes`: sum of n_in * n_out + n_out."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


class Network:
    """Parameters plus feedforward and backprop: the math of one network, nothing else.

    sizes: layer sizes, first the input, last the output, e.g. [784, 30, 10].
    rng: a np.random.Generator (or a seed for one) that draws the initial parameters.
    Initialization as in Nielsen's network.py: every weight and bias from N(0, 1).
    weights[l]: (sizes[l+1], sizes[l]); biases[l]: (sizes[l+1],). Both are views into one
    matrix per layer: change them in place (net.weights[0][...] = w), don't rebind them.
    """

    def __init__(self, sizes, rng, dtype="float32", activation="sigmoid", cost="quadratic"):
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must be at least two positive layer sizes, got {sizes}")
        rng = np.random.default_rng(rng)
        self.sizes = sizes
        self.num_layers = len(sizes)
        self.dtype = np.dtype(DTYPES.get(dtype, dtype))
        self.activation, self.activation_prime = ACTIVATIONS[activation]
        self.cost = COSTS[cost]
        # Drawn in float64 and then cast, so float32 and float64 networks start from the
        # same values (to float32 precision) for the same seed; biases first, as in the book.
        biases = [rng.standard_normal(n) for n in sizes[1:]]
        weights = [rng.standard_normal((n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self._wb = [np.column_stack([w, b]).astype(self.dtype) for w, b in zip(weights, biases)]
        self._link_views()

    def _link_views(self):
        self.weights = [wb[:, :-1] for wb in self._wb]  # (n_out, n_in) views
        self.biases = [wb[:, -1] for wb in self._wb]  # (n_out,) views
        self._wb_T = [wb.T for wb in self._wb]  # (n_in + 1, n_out) views, made once
        self._workspaces = {}  # mini-batch size m -> Workspace, for update_mini_batch

    def __getstate__(self):  # pickle and deepcopy: the views are rebuilt, not copied apart
        views = ("weights", "biases", "_wb_T", "_workspaces")
        return {k: v for k, v in self.__dict__.items() if k not in views}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._link_views()

    def feedforward(self, X):
        """Output activations for a batch. X: (m, sizes[0]) -> (m, sizes[-1])."""
        return self._activations(X)[-1]

    def _activations(self, X):
        """Every layer's activation for a batch, the input first: [(m, n_0), ..., (m, n_L)].

        The book's a = sigma(w a + b), with w and b apart: for evaluation on many examples
        appending a ones column to X would cost a copy of X.
        """
        activations = [X]
        for w, b in zip(self.weights, self.biases):
            z = activations[-1] @ w.T  # (m, n_out)
            z += b
            activations.append(self.activation(z, out=z))  # sigma(z), in place
        return activations

    def backprop(self, X, Y, activations=None):
        """Gradient of the cost summed over the batch, as (nabla_b, nabla_w).

        X: (m, sizes[0]) inputs, Y: (m, sizes[-1]) desired outputs.
        nabla_b[l]: (sizes[l+1],), nabla_w[l]: (sizes[l+1], sizes[l]), like biases and weights.
        `activations` may pass a forward pass already made on X (as _activations returns it).
        """
        work = Workspace(self.sizes, len(X), self.dtype)  # fresh: the caller keeps the nablas
        if activations is None:
            self._forward(work, X)
        else:  # the same arrays _forward would have filled
            work.heads[0][...] = X
            for l, a in enumerate(activations[1:]):
                work.zs[l][...] = a
                if l + 1 < len(work.ins):
                    work.heads[l + 1][...] = a
        self.cost.delta(work.zs[-1], Y, self.activation_prime, out=work.deltas[-1])
        self._backward(work)
        return [n[:, -1] for n in work.nablas], [n[:, :-1] for n in work.nablas]

    def update_mini_batch(self, X, Y, eta):
        """One step of gradient descent on a mini-batch; returns the batch's summed cost.

        X: (m, sizes[0]), or (m, sizes[0] + 1) whose last column is all ones (SGD passes its
        inputs so, to save a copy per step). Y: (m, sizes[-1]). The update is the book's:
        w <- w - (eta / m) * sum of per-example nabla_w, and the same for b.
        The cost comes from the forward pass that backprop needs anyway.
        """
        m = len(X)
        work = self._workspaces.get(m) or self._new_workspace(m)
        self._forward(work, X)
        cost, delta = self.cost.sum_and_delta(work.zs[-1], Y, self.activation_prime,
                                              out=work.deltas[-1])  # (m, n_L)
        # Every nabla is linear in the output delta, so scaling it by -eta/m once makes
        # backprop produce the updates themselves: w <- w + nabla, one call per layer.
        delta *= -eta / m
        self._backward(work)
        for wb, nabla in zip(self._wb, work.nablas):
            wb += nabla  # [w | b] <- [w | b] - (eta / m) [nabla_w | nabla_b]
        return cost

    def _new_workspace(self, m):
        if len(self._workspaces) >= 4:  # SGD uses two sizes; don't grow without bound
            self._workspaces.clear()
        self._workspaces[m] = Workspace(self.sizes, m, self.dtype)
        return self._workspaces[m]

    def _forward(self, work, X):
        """Fill work.zs (the activations) from X: (m, n_0), or (m, n_0 + 1) with its ones column."""
        if X.shape[1] == self.sizes[0]:
            work.heads[0][...] = X  # copied next to the ones column
            X = work.inputs
        work.ins[0] = a = X  # (m, n_0 + 1)
        for wb_T, z, (a_next, head) in zip(self._wb_T, work.zs, work.next_ins):
            # np.dot, not matmul: at these shapes it skips ~0.4 us of dispatch per call
            np.dot(a, wb_T, out=z)  # (m, n_in + 1) @ (n_in + 1, n_out): z = w a + b
            self.activation(z, out=z)  # a = sigma(z), in place
            if a_next is not None:
                head[...] = z  # the next layer's input, beside its ones column
                a = a_next  # (m, n_out + 1)

    def _backward(self, work):
        """Fill work.nablas from the forward pass and the output delta in work.deltas[-1].

        Rows are examples, so delta.T @ a adds up the per-example outer products that the
        book's loop computes one at a time; the last column (a's ones) is nabla_b.
        """
        for l in range(self.num_layers - 2, -1, -1):  # from the last layer back
            delta = work.deltas[l]  # (m, n_{l+1})
            if l > 0:
                # delta^l = (delta^{l+1} w^{l+1}) * sigma'(z^l), before w^{l+1} changes;
                # weights[l] is w without its bias column
                back = np.matmul(delta, self.weights[l], out=work.deltas[l - 1])  # (m, n_l)
                back *= self.activation_prime(work.zs[l - 1], out=work.primes[l - 1])
            # matmul, not np.dot: for delta.T (a transposed view) np.dot is 1.4 us slower
            np.matmul(delta.T, work.ins[l], out=work.nablas[l])  # (n_{l+1}, n_l + 1)

    def evaluate(self, X, labels):
        """How many of the inputs the network classifies right. X: (n, sizes[0]), labels: (n,)."""
        predictions = self.feedforward(X).argmax(axis=1)  # (n,)
        return int(np.count_nonzero(predictions == labels))

    def classify(self, x):
        """Output vector, predicted class and confidence for one input x: (sizes[0],)."""
        output = self.feedforward(np.asarray(x, dtype=self.dtype)[np.newaxis, :])[0]  # (n_L,)
        digit = int(output.argmax())
        return Classification(output=output, digit=digit, confidence=float(output[digit]))

    def parameters_finite(self):
        """True when no weight or bias is NaN or infinite."""
        return all(np.isfinite(wb).all() for wb in self._wb)
