"""The programs and the Python module ops/verify needs, and how to install each.

ops/verify installs nothing itself: what goes on a machine is its owner's choice (.ci/run makes
that choice for CI). A missing tool stops the run before any check, naming the command that
installs it, rather than failing halfway with a traceback.
"""

import importlib.util
import os
import shutil
import subprocess
import sys

from . import ROOT
from .report import fail, ok

PROMETHEUS = "apt-get install prometheus (Debian, Ubuntu; the package brings promtool too)"
PYYAML = (
    f"{sys.executable} -m pip install PyYAML, "
    "or apt-get install python3-yaml where python3 is Debian's own"
)


def missing():
    """(what, how to install it) for everything this run needs and this machine lacks."""
    binary = os.environ.get("SNACKDRAWER_BIN")
    needed = [
        ("prometheus", shutil.which("prometheus"), PROMETHEUS),
        ("promtool", shutil.which("promtool"), PROMETHEUS),
        ("the Python module yaml (PyYAML)", importlib.util.find_spec("yaml"), PYYAML),
        (
            (
                f"SNACKDRAWER_BIN={binary}",
                os.access(binary, os.X_OK),
                "not an executable file; point it at a built snackdrawer",
            )
            if binary
            else (
                "cargo, to build the binary",
                shutil.which("cargo"),
                "install Rust with rustup, or set SNACKDRAWER_BIN to a built snackdrawer",
            )
        ),
    ]
    return [(what, how) for what, found, how in needed if not found]


def require():
    """Returns Prometheus's version line if everything is here; exits naming what is not."""
    absent = missing()
    if absent:
        sys.exit(
            "ops/verify: missing (this script installs nothing; .ci/run installs them on CI):\n"
            + "\n".join(f"  {what}: {how}" for what, how in absent)
        )
    version = subprocess.run(["prometheus", "--version"], capture_output=True, text=True)
    return version.stdout.splitlines()[0]


def promtool(*args):
    """Runs promtool from the repository root; a non-zero exit fails, with promtool's output."""
    command = "promtool " + " ".join(str(a) for a in args)
    result = subprocess.run(["promtool", *map(str, args)], capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        fail(f"{command}\n{result.stdout}{result.stderr}")
    else:
        ok(command)
