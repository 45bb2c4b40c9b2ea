"""Which Python runs allocmark's plots, reports and comparisons: one that can
import numpy and scipy. Debian installs python3-numpy and python3-scipy for
its own interpreter (/usr/bin/python3); when `python3` on the PATH is another
one (a pyenv or a virtual environment without them), the entry points run
themselves again under Debian's, once, before importing anything else."""

import os
import sys

DEBIAN_PYTHON = "/usr/bin/python3"


def ensure_numpy_scipy():
    """Return when numpy and scipy import; otherwise exec this program under
    Debian's python3 if that is another interpreter, or exit 2 saying what
    to install."""
    try:
        import numpy  # noqa: F401
        import scipy.stats  # noqa: F401
        return
    except ImportError as e:
        missing = e
    here = os.path.realpath(sys.executable or "")
    # Once only: under Debian's python3 itself there is nothing to try.
    if os.access(DEBIAN_PYTHON, os.X_OK) and os.path.realpath(DEBIAN_PYTHON) != here:
        sys.stdout.flush()
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)
    sys.stderr.write("allocmark: %s cannot import numpy and scipy (%s): install the Debian "
                     "packages python3-numpy and python3-scipy (scripts/setup.sh does)\n"
                     % (sys.executable, missing))
    sys.exit(2)
