"""`python -m experiments show-data`: a PNG of a data set's first images; not the reading of the files (datasets.py)."""

import argparse
import sys

from experiments.argtypes import positive_int
from experiments.data.datasets import SOURCES, load_dataset
from experiments.errors import NNSweepError


def show_data_main(argv=None) -> int:
    from experiments.data.preview import save_preview  # matplotlib: imported when used

    parser = argparse.ArgumentParser(
        prog="python -m experiments show-data",
        description="Save a PNG of the first images of a data set with their labels.")
    parser.add_argument("--dataset", choices=sorted(SOURCES), default="mnist")
    parser.add_argument("--data-dir", help="directory with the data set files")
    parser.add_argument("--count", type=positive_int, default=20)
    parser.add_argument("--part", choices=["training", "validation", "test"], default="training")
    parser.add_argument("-o", "--output", default=None, help="PNG path (default: <dataset>.png)")
    args = parser.parse_args(argv)
    try:
        data = load_dataset(args.dataset, args.data_dir)
        path = save_preview(data, args.output or f"{args.dataset}.png", args.count, args.part)
    except NNSweepError as error:
        print(f"show-data: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0
