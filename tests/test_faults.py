"""Faults while a sweep records (a full disk, a directory turning read-only, SIGTERM in the
middle of a write) and results files damaged at random (hypothesis) before `sweep-report` and
before a resumed `sweep`: the commands end with their one-line error or succeed, never with a
traceback, and nothing recorded is lost."""

import errno
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.report import cli as report_cli
from experiments.store.columns import METRIC_COLUMNS, RUN_COLUMNS
from experiments.store.csv_files import read_csv_records
from experiments.store.store import ResultsStore
from experiments.sweep import cli as sweep_cli
from experiments.sweep.progress import Display

MNIST_DIR = os.environ.get("MNIST_DIR")
needs_mnist = pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a directory with MNIST")
TINY = """\
name: tiny
defaults: {epochs: 2, train_size: 100}
trials:
  - {layers: [784, 10], comment: "a comment, with a comma"}
seeds: [0, 1, 2, 3]
"""
FEW_EXAMPLES = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                        suppress_health_check=[HealthCheck.function_scoped_fixture,
                                               HealthCheck.too_slow])


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """The results directory of the tiny sweep, in tmp_path; its lines reach capsys."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MNIST_DIR", MNIST_DIR or "")
    Path("tiny.yaml").write_text(TINY)
    # Display's default streams are those of when it was imported, before capsys
    monkeypatch.setattr(sweep_cli, "Display", lambda total: Display(
        total, out=sys.stdout, status=sys.stderr, live=False))
    return tmp_path / "out"


def run_ids(directory):
    return [fields[0] for _, fields in read_csv_records(directory / "runs.csv", RUN_COLUMNS).records]


def one_line(text, prefix):
    return text.count("\n") == 1 and text.startswith(prefix) and text.endswith("\n")


# --- faults while recording ---------------------------------------------------------------

def fail_writes_under(monkeypatch, directory, code, when):
    """From the moment when(path) is true of a file opened for writing under `directory`, every
    such open fails with OSError `code` (a full disk, a file system remounted read-only)."""
    real_open = os.open
    failing = []  # the paths refused so far

    def open_(path, flags, *args, **kwargs):
        if (flags & (os.O_WRONLY | os.O_RDWR) and str(path).startswith(str(directory))
                and (failing or when(str(path)))):
            failing.append(path)
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)


@needs_mnist
@pytest.mark.parametrize("code, when", [
    (errno.ENOSPC, "runs.csv"),  # the disk fills up as the third trial's row goes in
    (errno.EROFS, "config.yaml"),  # the directory turns read-only as the third trial starts
])
def test_a_write_that_fails_while_recording_is_one_line_exit_1_and_a_rerun_completes(
        tiny, capsys, code, when):
    opened = []

    def third(path):
        if path.endswith(when) or f"/{when}." in path:  # the file, or its temporary
            opened.append(path)
        return len(opened) == 3

    with pytest.MonkeyPatch.context() as patch:
        fail_writes_under(patch, tiny, code, third)
        assert sweep_cli.main(["tiny.yaml", "--out", str(tiny), "--no-report"]) == 1
    out, err = capsys.readouterr()  # and the disk has room again
    assert one_line(err, "sweep: ") and err.endswith(f": cannot write: {os.strerror(code)}\n")
    assert when in err and "[2/4]" in out and "[3/4]" not in out
    assert len(run_ids(tiny)) == 2  # the two trials before, intact
    assert sweep_cli.main(["tiny.yaml", "--out", str(tiny), "--no-report"]) == 0
    assert "2 of 4 trials to run" in capsys.readouterr().out
    assert len(run_ids(tiny)) == 4
    metrics = read_csv_records(tiny / "metrics.csv", METRIC_COLUMNS).records
    assert len(metrics) == 4 * 2  # no leftover of the failed record


@needs_mnist
def test_sigterm_in_the_middle_of_a_write_leaves_whole_files_and_a_rerun_completes(
        tiny, capsys):
    real_write = os.write
    appends = []

    def write(descriptor, data):  # SIGTERM arrives while the third trial's metrics go in
        if os.readlink(f"/proc/self/fd/{descriptor}").endswith("metrics.csv"):
            appends.append(descriptor)  # the first trial's made the file: not an append
            if len(appends) == 2:
                written = real_write(descriptor, bytes(data[:len(data) // 2]))
                os.kill(os.getpid(), signal.SIGTERM)
                return written
        return real_write(descriptor, data)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "write", write)
        assert sweep_cli.main(["tiny.yaml", "--out", str(tiny), "--no-report"]) == 130
    out, err = capsys.readouterr()
    assert err == "" and "interrupted: 2 finished" in out
    assert "rerun the same command to resume" in out
    assert len(run_ids(tiny)) == 2
    metrics = (tiny / "metrics.csv").read_text()
    assert metrics.endswith("\n") and len(metrics.splitlines()) == 1 + 2 * 2  # cut back whole
    assert sweep_cli.main(["tiny.yaml", "--out", str(tiny), "--no-report"]) == 0
    assert len(run_ids(tiny)) == 4


# --- files damaged at random --------------------------------------------------------------

NASTY = [b'"', b",", b"\n", b"\r", b"\r\n", b"\xff\xfe", b"\x00", b"nan", b"-1", b"1e999",
         b"\n\n", b'""', b"finished", b"784-10", b"\xc3"]
# a place in the file: anywhere, or (as often) past the header, where the records are
place = st.tuples(st.booleans(), st.integers(0, 10**6))
damage = st.one_of(
    st.tuples(st.just("truncate"), place),
    st.tuples(st.just("delete"), place, st.integers(1, 60)),
    st.tuples(st.just("insert"), place,
              st.sampled_from(NASTY) | st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("duplicate line"), st.integers(0, 10**6)),
    st.tuples(st.just("swap lines"), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.tuples(st.just("empty")),
    st.tuples(st.just("remove")),
)
damages = st.lists(st.tuples(st.sampled_from(["runs.csv", "metrics.csv"]), damage),
                   min_size=1, max_size=3)


def apply(directory, damages):
    for name, (how, *where) in damages:
        path = directory / name
        if not path.exists():
            continue
        if how == "remove":
            path.unlink()
            continue
        data = path.read_bytes()
        lines = data.splitlines(keepends=True) or [b""]
        if how in ("truncate", "delete", "insert"):
            past_header, offset = where[0]
            start = len(lines[0]) if past_header else 0
            at = start + offset % (len(data) - start + 1)
        if how == "truncate":
            data = data[:at]
        elif how == "delete":
            data = data[:at] + data[at + where[1]:]
        elif how == "insert":
            data = data[:at] + where[1] + data[at:]
        elif how == "duplicate line":
            line = where[0] % len(lines)
            data = b"".join(lines[:line + 1] + lines[line:])
        elif how == "swap lines":
            first, second = where[0] % len(lines), where[1] % len(lines)
            lines[first], lines[second] = lines[second], lines[first]
            data = b"".join(lines)
        else:
            data = b""
        path.write_bytes(data)


def copy_of(source):
    directory = Path(tempfile.mkdtemp(dir=source.parent))
    for name in ("runs.csv", "metrics.csv"):
        shutil.copy(source / name, directory / name)
    return directory


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """A results directory of six trials, written as the store writes them."""
    directory = tmp_path_factory.mktemp("reported") / "results"
    with ResultsStore(directory) as store:
        for i in range(6):
            status = ("finished", "diverged", "failed")[i % 3]
            accuracy = 0.9 - i / 100 if status == "finished" else None
            run = {column: "" for column in RUN_COLUMNS}
            run.update(run_id=f"r{i}", layers="784-30-10", epochs=2, mini_batch_size=10,
                       eta=3.0, seed=i, dataset="mnist", dtype="float32", status=status,
                       accuracy=accuracy, best_accuracy=0.5, best_epoch=1, comment="a, b",
                       error="" if status == "finished" else f"{status}: at epoch 2")
            store.record(run, [{"run_id": f"r{i}", "epoch": epoch, "cost": 0.1,
                                "accuracy": 0.5, "validation_accuracy": None, "seconds": 1.0}
                               for epoch in (1, 2)], "", {})
    return directory


@FEW_EXAMPLES
@given(damages=damages)
def test_sweep_report_on_damaged_files_reports_or_says_why_in_one_line(reported, capsys,
                                                                       damages):
    directory = copy_of(reported)
    apply(directory, damages)
    status = report_cli.main([str(directory), "--no-aggregate", "-o", "-"])
    out, err = capsys.readouterr()
    if status == 0:
        assert out.startswith("| network")
        assert all(line.startswith("sweep-report: warning: ") and line.endswith(
            "incomplete last line skipped (a write cut short?)") for line in err.splitlines())
    else:
        assert status == 2 and out == "" and one_line(err, f"sweep-report: {directory}")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The results of the tiny sweep, all four trials recorded."""
    if not MNIST_DIR:
        pytest.skip("set MNIST_DIR to a directory with MNIST")
    directory = tmp_path_factory.mktemp("recorded")
    (directory / "tiny.yaml").write_text(TINY)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        assert sweep_cli.main(["tiny.yaml", "--out", "results", "--no-report"]) == 0
    return directory / "results"


@FEW_EXAMPLES
@given(damages=damages)
def test_a_resumed_sweep_on_damaged_files_resumes_or_says_why_in_one_line(recorded, capsys,
                                                                          damages):
    directory = copy_of(recorded)
    apply(directory, damages)
    before = {name: (directory / name).read_bytes() for name in ("runs.csv", "metrics.csv")
              if (directory / name).exists()}
    try:
        readable_before = set(ResultsStore(directory).runs())
    except Exception:  # noqa: BLE001 - damaged beyond reading: the sweep must refuse
        readable_before = None
    status = sweep_cli.main([str(recorded.parent / "tiny.yaml"), "--out", str(directory),
                             "--no-report"])
    out, err = capsys.readouterr()
    if status == 2:  # refused: not one byte changed
        assert one_line(err, f"sweep: {directory}")
        assert {name: (directory / name).read_bytes() for name in before} == before
    else:
        assert status == 0 and err == "", err
        after = set(ResultsStore(directory).runs())
        assert len(after) >= 4 and readable_before is not None
        assert readable_before <= after  # nothing that was recorded is lost
