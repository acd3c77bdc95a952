"""Peers "torch" and "torch-manual": PyTorch CPU eager mode, same network, cost and update; not torch.compile.

"torch" is how PyTorch is usually written: nn.Sequential of Linear and Sigmoid, the
summed quadratic cost divided by m, loss.backward() and optim.SGD(lr=eta), which is
Nielsen's w <- w - (eta / m) * sum of per-example gradients (the fastest of optim.SGD's
for-loop, foreach and fused implementations here). "torch-manual" writes the backprop out
by hand as nn.Network does, with addmm_ updating w in place (a gemm with beta = 1, which
NumPy has no way to call): what eager PyTorch can do without autograd.
Both start from nn.Network's parameters for the seed and shuffle with the same generator.
"""

import time

import numpy as np

from experiments.bench.peers import PeerResult, accuracy, one_hot, require, starting_point


def run(config, problem, name, autograd):
    torch = require("torch")
    torch.set_num_threads(config.threads)
    weights, biases, rng = starting_point(config, "float32")
    # a copy: the data set is mapped read-only from the decoded cache, and torch warns
    # about (and cannot guard) tensors over memory it must not write
    X = torch.from_numpy(np.array(problem.X_train))  # (n, n_0)
    Y = torch.from_numpy(one_hot(problem.labels_train, config.sizes[-1], "float32"))  # (n, n_L)
    train = _autograd_trainer if autograd else _manual_trainer
    step, parameters = train(torch, weights, biases, config.eta)
    seconds = []
    for _ in range(config.epochs):
        start = time.perf_counter()
        order = torch.from_numpy(rng.permutation(len(X)))  # same shuffles as nn.SGD
        cost_sum = 0.0
        for k in range(0, len(X), config.mini_batch_size):
            batch = order[k:k + config.mini_batch_size]
            cost_sum += step(X[batch], Y[batch])
        seconds.append(time.perf_counter() - start)
    weights, biases = parameters()
    return PeerResult(name=name, dtype="float32", epoch_seconds=tuple(seconds),
                      accuracy=accuracy(weights, biases, problem.X_test, problem.labels_test),
                      note=f"torch {torch.__version__}, "
                           + ("autograd + optim.SGD" if autograd else "hand-written backprop, addmm_"))


def _autograd_trainer(torch, weights, biases, eta):
    layers = []
    for w, b in zip(weights, biases):
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=eta)

    def step(x, y):  # x: (m, n_0), y: (m, n_L)
        cost = 0.5 * ((model(x) - y) ** 2).sum()  # summed over the batch, as nn.Network's
        optimizer.zero_grad()
        (cost / len(x)).backward()  # gradients of the mean, so lr = eta is eta / m * sum
        optimizer.step()
        return cost.item()

    def parameters():
        linears = [layer for layer in model if isinstance(layer, torch.nn.Linear)]
        return ([layer.weight.detach().numpy() for layer in linears],
                [layer.bias.detach().numpy() for layer in linears])

    return step, parameters


def _manual_trainer(torch, weights, biases, eta):
    W = [torch.from_numpy(w.copy()) for w in weights]  # (n_out, n_in)
    B = [torch.from_numpy(b.copy()) for b in biases]  # (n_out,)

    def step(x, y):
        activations = [x]
        for w, b in zip(W, B):
            activations.append(torch.sigmoid(torch.addmm(b, activations[-1], w.t())))
        a = activations[-1]
        diff = a - y  # (m, n_L)
        delta = diff * a * (1 - a) * (-eta / len(x))  # scaled by -eta/m once, as nn.Network
        for l in range(len(W) - 1, -1, -1):
            behind = None
            if l > 0:
                a_l = activations[l]
                behind = (delta @ W[l]) * a_l * (1 - a_l)  # before W[l] changes
            W[l].addmm_(delta.t(), activations[l])  # w += delta.T @ a, one gemm
            B[l].add_(delta.sum(dim=0))
            delta = behind
        return 0.5 * float(torch.dot(diff.reshape(-1), diff.reshape(-1)))

    return step, lambda: ([w.numpy() for w in W], [b.numpy() for b in B])
