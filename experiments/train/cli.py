"""`python -m experiments train`: one network trained and printed epoch by epoch, as the book's program does; not sweeps."""

import argparse
import sys

import numpy as np
from threadpoolctl import threadpool_limits

from experiments.argtypes import positive_float, positive_int
from experiments.data.datasets import SOURCES, load_dataset
from experiments.errors import NNSweepError
from experiments.sweep.config import TrialConfig
from experiments.sweep.memory import check_fits
from experiments.sweep.values import layers, trial_value
from experiments.sweep import worker
from nn import SGD, Network
from nn.activations import ACTIVATIONS
from nn.costs import COSTS
from nn.initializers import INITIALIZERS
from nn.network import DTYPES
from nn.training import SCHEDULES


def train_parser():
    parser = argparse.ArgumentParser(
        prog="python -m experiments train",
        description="Train one network and print its test accuracy after every epoch, "
                    "as Nielsen's network.py does, then classify the first test image.")
    parser.add_argument("--layers", type=positive_int, nargs="+", default=[784, 30, 10],
                        help="layer sizes (default: 784 30 10)")
    parser.add_argument("--epochs", type=positive_int, default=30)
    parser.add_argument("--mini-batch-size", default=10, type=mini_batch_size,
                        help="examples per step, or 'full' for the whole training set")
    parser.add_argument("--eta", type=positive_float, default=3.0, help="learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=list(DTYPES), default="float32")
    parser.add_argument("--activation", choices=list(ACTIVATIONS), default="sigmoid",
                        help="of the hidden layers (default: sigmoid)")
    parser.add_argument("--cost", choices=list(COSTS), default="quadratic",
                        help="log_likelihood puts a softmax on the output (default: quadratic)")
    parser.add_argument("--init", choices=list(INITIALIZERS), default="normal",
                        help="normal: N(0, 1), scaled: N(0, 1/n_in), he: N(0, 2/n_in)")
    parser.add_argument("--lmbda", type=setting("lmbda"), default=0.0,
                        help="L2 regularization (default: 0, none)")
    parser.add_argument("--momentum", type=setting("momentum"), default=0.0,
                        help="mu in [0, 1) (default: 0, plain SGD)")
    parser.add_argument("--early-stopping", type=setting("early_stopping"), default=0,
                        metavar="N", help="stop after N epochs without a better validation "
                                          "accuracy (default: 0, never)")
    parser.add_argument("--eta-schedule", choices=SCHEDULES, default="none",
                        help="halve: halve eta when validation accuracy stalls, stop at eta/128")
    parser.add_argument("--train-size", type=positive_int, default=None,
                        help="use the first N of the 50,000 training images")
    parser.add_argument("--dataset", choices=sorted(SOURCES), default="mnist")
    parser.add_argument("--data-dir", help="directory with the data set files")
    return parser


def mini_batch_size(text):
    return "full" if text == "full" else positive_int(text)


def setting(key):
    """An argparse type that checks a value as the sweep checks its key (one message for both)."""
    def parse(text):
        try:
            value = float(text) if key != "early_stopping" else int(text)
        except ValueError:
            value = text
        try:
            return trial_value(key, value, f"--{key.replace('_', '-')}", "mnist")
        except NNSweepError as error:
            raise argparse.ArgumentTypeError(str(error).split(": ", 1)[1]) from None
    return parse


def train_main(argv=None) -> int:
    args = train_parser().parse_args(argv)
    try:
        layers(args.layers, "--layers", args.dataset)  # one line, not a matmul traceback
        trial = TrialConfig(layers=tuple(args.layers), mini_batch_size=args.mini_batch_size,
                            train_size=args.train_size, dtype=args.dtype)
        check_fits([trial], jobs=1)
        data = load_dataset(args.dataset, args.data_dir, train_size=args.train_size)
        rng = np.random.default_rng(args.seed)
        net = Network(args.layers, rng, dtype=args.dtype, activation=args.activation,
                      cost=args.cost, init=args.init)
        n_test = len(data.test[0])
        m = worker.mini_batch_size(trial)  # "full": the whole training set
        best = None
        # One BLAS thread, as in a sweep's trial: with two, a product's sums may be split in
        # another order, and a full-batch run ends a few test images away from the sweep's.
        with threadpool_limits(limits=1):
            for r in SGD(net, data.training, args.epochs, m, args.eta, rng,
                         test_data=data.test, validation_data=data.validation,
                         lmbda=args.lmbda, momentum=args.momentum,
                         early_stopping=args.early_stopping, eta_schedule=args.eta_schedule):
                print(f"Epoch {r.epoch}: {round(r.accuracy * n_test)} / {n_test} "
                      f"(test {100 * r.accuracy:.2f}%, validation "
                      f"{100 * r.validation_accuracy:.2f}%, cost {r.cost:.4f}, "
                      f"{r.seconds:.2f} s)", flush=True)
                best = r if best is None or r.accuracy > best.accuracy else best
                if r.stopped:
                    print(f"stopped: {r.stopped}")
    except (NNSweepError, ValueError) as error:
        print(f"train: {error}", file=sys.stderr)
        return 2
    print(f"best: {100 * best.accuracy:.2f}% at epoch {best.epoch}")
    result = net.classify(data.test[0][0])
    print(f"classification of first test image: {data.classes[result.digit]} with confidence "
          f"{result.confidence:.2f}; real label {data.classes[data.test[1][0]]}")
    return 0
