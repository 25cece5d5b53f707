"""``python -m churn_core`` and the ``churn`` console command (pyproject.toml): see
:mod:`churn_core.cli`."""
import os


def run() -> int:
    """Run the command line with TensorFlow's start-up log lines hidden; return the exit code.

    TensorFlow's C++ log lines mean nothing to an analyst (set before TF is imported, which
    only ``train`` does). Level 3 also hides "E... cuda_platform.cc: failed call to cuInit" on
    machines without a GPU; the lines TF writes before it reads this variable (oneDNN, CUDA
    drivers, absl's notice) are filtered by tf_quiet.import_tensorflow_quietly. A value the
    user set is kept.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from churn_core.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
