"""`python -m experiments [sweep|report|bench|predict|export|train|show-data] ...`; a bare config path means sweep."""

import sys

COMMANDS = {
    "sweep": "experiments.sweep.start:main",
    "report": "experiments.report.cli:main",
    "bench": "experiments.bench.cli:main",
    "predict": "experiments.predict.cli:main",
    "export": "experiments.export.cli:main",
    "train": "experiments.train.cli:train_main",
    "show-data": "experiments.data.cli:show_data_main",
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        target = COMMANDS[argv.pop(0)]
    elif argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip().strip("`") + "\n\ncommands: " + ", ".join(COMMANDS) +
              "; `python -m experiments COMMAND --help` tells more")
        return 0
    else:
        target = COMMANDS["sweep"]
    module_name, function_name = target.split(":")
    module = __import__(module_name, fromlist=[function_name])
    return getattr(module, function_name)(argv)


if __name__ == "__main__":
    sys.exit(main())
