"""The command sweep-predict: a trained network classifies images of digits; not how an image is read (images.py).

It is the only place where predict's errors are caught and printed, as one line each.
"""

import argparse
import json
import sys
from pathlib import Path

from experiments.data.datasets import load_test_set
from experiments.errors import ImageError, NNSweepError, ResultsError
from experiments.predict.images import SIDE, load_digit
from experiments.store.columns import RUNS_FILE
from experiments.store.networks import NETWORK_FILE, best_trained_run
from nn import load_network

DESCRIPTION = """\
Classify images of digits with a network a sweep trained: print, for each image, the digit,
the confidence (the activation of the winning output neuron) and the output vector.
An image is a PNG or JPEG of any size, a dark digit on a light background or the reverse;
it is turned into MNIST's form first (grey levels, light on dark, the digit fitted into
20 x 20 pixels and centred by its centre of mass in 28 x 28)."""

EPILOG = """\
examples:
  sweep-predict results/architectures --best digit.png
  sweep-predict results/architectures/784-30-10_e30_b10_eta3_s1_311938f6 a.png b.jpg
  sweep-predict results/architectures --best --mnist-test 0 --format json

exit status: 0 when every image was classified; 2 for a usage error, a network that cannot
be found or read, or an image that cannot (the others are still classified)."""

FORMATS = ("text", "json")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sweep-predict", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", metavar="NETWORK", type=Path,
                        help=f"a trial's run folder (its {NETWORK_FILE}), a saved network (.npz), "
                             "or with --best a sweep's results directory")
    parser.add_argument("images", metavar="IMAGE", nargs="*", type=Path,
                        help="PNG or JPEG images of digits")
    parser.add_argument("--best", action="store_true",
                        help="use the finished trial of the sweep NETWORK with the highest "
                             f"validation accuracy among those that saved a {NETWORK_FILE}")
    parser.add_argument("--mnist-test", type=int, action="append", default=[], metavar="N",
                        help="also classify MNIST test image N (0 to 9,999), with its true "
                             "label; repeat for more")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="the directory with MNIST's files, for --mnist-test")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text: two lines per image (default); json: one JSON object per "
                             "line per image, with image, digit, confidence, output, network "
                             "(and label for --mnist-test)")
    return parser


def main(argv=None) -> int:
    """Run sweep-predict with `argv` (default: the command line); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_intermixed_args(argv)  # NETWORK --best IMAGE... too
        if not args.images and not args.mnist_test:
            parser.error("give at least one IMAGE or --mnist-test N")
    except SystemExit as exit_request:  # argparse has printed the usage error, or the help
        return exit_request.code
    try:
        path, how = find_network(args.network, args.best)
        network = load_network(path, name=str(path))  # a Path's .name is its last part only
        if network.sizes[0] != SIDE * SIDE:
            raise ResultsError(f"{path}: a network of {network.sizes[0]} inputs, expected "
                               f"{SIDE * SIDE} ({SIDE} x {SIDE} images)")
        mnist = _mnist_images(args.mnist_test, args.data_dir)
    except NNSweepError as error:
        print(f"sweep-predict: {error}", file=sys.stderr)
        return 2
    if args.format == "text":
        print(f"network: {path}, {network.sizes}{how}")
    status = 0
    for name, x, label in [*_image_inputs(args.images), *mnist]:
        if isinstance(x, ImageError):
            print(f"sweep-predict: {x}", file=sys.stderr)
            status = 2
            continue
        result = network.classify(x)
        print(_render(args.format, name, result, label, path), flush=True)
    return status


def find_network(target, best):
    """(path of the network file, how it was chosen, as a phrase) for the NETWORK argument."""
    if best:
        run = best_trained_run(target)
        if run is None:
            raise ResultsError(f"{target}: no finished trial has a {NETWORK_FILE} (did the sweep "
                               "keep no weights?)")
        trials = f"{run.candidates} trial{'s' * (run.candidates != 1)}"
        return run.network, (f"; the best of {trials} with saved weights by validation "
                             f"accuracy ({100 * run.validation_accuracy:.2f}%)")
    if target.is_dir():
        if not (target / NETWORK_FILE).is_file():
            hint = ("a sweep's results directory: add --best, or give one of its run folders"
                    if (target / RUNS_FILE).is_file() else
                    f"no {NETWORK_FILE} here, expected a trial's run folder or a .npz file")
            raise ResultsError(f"{target}: {hint}")
        return target / NETWORK_FILE, ""
    if not target.exists():
        raise ResultsError(f"{target}: no such file or directory")
    return target, ""


def _image_inputs(paths):
    """(name, x or the ImageError, None) per image: errors are reported in their turn."""
    for path in paths:
        try:
            yield str(path), load_digit(path), None
        except ImageError as error:
            yield str(path), error, None


def _mnist_images(indices, data_dir):
    """(name, x, label) of each MNIST test image asked for; read only when some are."""
    if not indices:
        return []
    X, labels = load_test_set("mnist", data_dir)  # (10000, 784), (10000,)
    for index in indices:
        if not 0 <= index < len(X):
            raise ResultsError(f"--mnist-test {index}: expected an index from 0 to {len(X) - 1}")
    return [(f"mnist test image {index}", X[index], int(labels[index])) for index in indices]


def _render(output_format, name, result, label, network_path):
    """Two lines of text, or one JSON object, for one classified image."""
    if output_format == "json":
        record = {"image": name, "digit": result.digit, "confidence": round(result.confidence, 6),
                  "output": [round(float(value), 6) for value in result.output],
                  "network": str(network_path)}
        if label is not None:
            record["label"] = label
        return json.dumps(record)
    real = "" if label is None else f"; real label {label}"
    vector = " ".join(f"{value:.3f}" for value in result.output)
    return (f"{name}: {result.digit} with confidence {result.confidence:.2f}{real}\n"
            f"  output: [{vector}]")
