"""``python -m churn_core`` and the ``churn`` console command (pyproject.toml): see
:mod:`churn_core.cli`."""
import gc
import os
import sys

#: Commands that train a network (TensorFlow) and may use several BLAS threads.
TRAINING_COMMANDS = ("train", "train-uplift")


def blas_environment(argv: list[str]) -> dict[str, str]:
    """Environment defaults for OpenBLAS, set before NumPy (or SciPy) is imported.

    Every command but training computes its matrix products on one BLAS thread
    (:func:`churn_core.model.numpy_net.single_thread_blas`: its own worker threads are the
    parallelism). OpenBLAS still starts a thread pool when NumPy is imported, and another
    one when SciPy's own OpenBLAS is loaded (the drift check's ``scipy.special``); those
    threads busy-wait for work that never comes: about 0.06 CPU-s for NumPy's and 0.15 for
    SciPy's on the benchmark machine, an eighth of a 1M-row ``score``
    (``benchmarks/RESULTS.md``). ``OPENBLAS_NUM_THREADS=1`` starts no pool. Training
    commands keep OpenBLAS' default.

    Parameters
    ----------
    argv : list of str
        The arguments without the program name; the first one not starting with ``-``
        is the command (the top-level options take no value).

    Returns
    -------
    dict of str to str
        The variables to set when the user has not set them (empty for training).
    """
    command = next((a for a in argv if not a.startswith("-")), None)
    return {} if command in TRAINING_COMMANDS else {"OPENBLAS_NUM_THREADS": "1"}


def run() -> int:
    """Run the command line with TensorFlow's start-up log lines hidden; return the exit code.

    TensorFlow's C++ log lines mean nothing to an analyst (set before TF is imported, which
    only ``train`` does). Level 3 also hides "E... cuda_platform.cc: failed call to cuInit" on
    machines without a GPU; the lines TF writes before it reads this variable (oneDNN, CUDA
    drivers, absl's notice) are filtered by tf_quiet.import_tensorflow_quietly. A value the
    user set is kept. OpenBLAS gets one thread outside training (:func:`blas_environment`).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for key, value in blas_environment(sys.argv[1:]).items():
        os.environ.setdefault(key, value)
    # The modules imported next (pandas, pyarrow, NumPy, ours) live as long as the process:
    # no garbage collection while they load, and gc.freeze() keeps them out of every later
    # collection, the last one at exit included (0.1 CPU-s of a 1M-row score).
    gc.disable()
    try:
        from churn_core.cli import main
    finally:
        gc.freeze()
        gc.enable()
    try:
        code = main()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # the reader of the summary left early (``... | head``): no traceback. Recipe of the
        # Python docs (signal module, "Note on SIGPIPE"): point stdout at /dev/null so the
        # flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(run())
