"""A multilayer perceptron in the vocabulary of Nielsen's network.py; not its training loop.

Notation, as in the book: `sizes` are the layer sizes, layer l has weights w (n_out, n_in)
and biases b (n_out,), z = w a + b is the weighted input and a = sigma(z) the activation;
`delta` is dC/dz, `nabla_w` and `nabla_b` are dC/dw and dC/db.

One difference from the book: a batch is a matrix whose *rows* are examples, so X has
shape (m, n_in) and a layer computes z = a @ w.T + b for all m examples in one product.
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


class Network:
    """Parameters plus feedforward and backprop: the math of one network, nothing else.

    sizes: layer sizes, first the input, last the output, e.g. [784, 30, 10].
    rng: a np.random.Generator (or a seed for one) that draws the initial parameters.
    Initialization as in Nielsen's network.py: every weight and bias from N(0, 1).
    weights[l]: (sizes[l+1], sizes[l]); biases[l]: (sizes[l+1],).
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
        # same values (to float32 precision) for the same seed.
        self.biases = [rng.standard_normal(n).astype(self.dtype) for n in sizes[1:]]
        self.weights = [
            rng.standard_normal((n_out, n_in)).astype(self.dtype)
            for n_in, n_out in zip(sizes[:-1], sizes[1:])
        ]

    def feedforward(self, X):
        """Output activations for a batch. X: (m, sizes[0]) -> (m, sizes[-1])."""
        activations = self._activations(X)
        return activations[-1]

    def _activations(self, X):
        """Every layer's activation for a batch, the input first: [(m, n_0), ..., (m, n_L)]."""
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
        Summing delta over the rows, and delta.T @ a, adds up the per-example gradients
        that the book's loop computes one example at a time.
        `activations` may pass a forward pass already made on X (see update_mini_batch).
        """
        if activations is None:
            activations = self._activations(X)
        nabla_b = [None] * (self.num_layers - 1)
        nabla_w = [None] * (self.num_layers - 1)
        delta = self.cost.delta(activations[-1], Y, self.activation_prime)  # (m, n_L)
        for l in range(1, self.num_layers):  # l = 1 is the last layer, as in the book
            if l > 1:
                # delta^l = (delta^{l+1} w^{l+1}) * sigma'(z^l), rows are examples
                delta = (delta @ self.weights[-l + 1]) * self.activation_prime(activations[-l])
            nabla_b[-l] = delta.sum(axis=0)  # (n_out,)
            nabla_w[-l] = delta.T @ activations[-l - 1]  # (n_out, m) @ (m, n_in)
        return nabla_b, nabla_w

    def update_mini_batch(self, X, Y, eta):
        """One step of gradient descent on a mini-batch; returns the batch's summed cost.

        X: (m, sizes[0]), Y: (m, sizes[-1]). The update is the book's:
        w <- w - (eta / m) * sum of per-example nabla_w, and the same for b.
        The cost comes from the forward pass that backprop needs anyway, so monitoring it
        costs one dot product per mini-batch.
        """
        activations = self._activations(X)
        batch_cost = self.cost.sum(activations[-1], Y)
        nabla_b, nabla_w = self.backprop(X, Y, activations)
        step = eta / len(X)
        for w, b, nw, nb in zip(self.weights, self.biases, nabla_w, nabla_b):
            w -= step * nw
            b -= step * nb
        return batch_cost

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
        return all(np.isfinite(p).all() for p in (*self.weights, *self.biases))
