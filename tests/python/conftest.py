"""Fixtures of the Python API's tests (issue 19). ctest runs them with PYTHONPATH at the
build tree's package (build/python) and SINKLAB_BIN at the CLI of the same build, so
every parity test compares the two doors of one engine."""
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cli():
    """Runs the sinklab CLI; returns (exit code, stdout, stderr)."""
    exe = os.environ.get("SINKLAB_BIN") or str(ROOT / "build" / "sinklab")

    def run(*args, check=True):
        p = subprocess.run([exe, *map(str, args)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"sinklab {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
        return p.returncode, p.stdout, p.stderr

    return run


@pytest.fixture(scope="session")
def smollm2():
    cache = os.environ.get("SINKLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sinklab")
    path = os.path.join(cache, "models", "SmolLM2-135M-Instruct.gguf")
    if not os.path.exists(path):
        pytest.skip(f"{path} is not there (scripts/setup.sh fetches it)")
    import sinklab

    return sinklab.load(path)


@pytest.fixture(scope="session")
def llama_reference():
    with open(ROOT / "tests" / "data" / "python" / "llama_reference.json") as f:
        return json.load(f)


def np_(x):
    """A result of the API as a NumPy array, whichever tensor type it is."""
    import numpy as np

    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
