"""Shared by the bench scripts: Odoo as a library on a given database, timing, output.

Bench scripts print figures; they are not tests. Each takes ``-c CONFIG -d DB`` (a
database where the suite is installed: ``bench/run.sh`` makes one) and ``--repeat N``.
"""

import argparse
import statistics
import sys
import time
import uuid
from contextlib import contextmanager

import odoo
from odoo import SUPERUSER_ID, api


def parse_args(description, **extra):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario")
    for name, (kind, default, help_text) in extra.items():
        parser.add_argument(f"--{name}", type=kind, default=default, help=help_text)
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "--log-level=warn"])
    args.registry = odoo.modules.registry.Registry(args.database)
    args.tag = uuid.uuid4().hex[:6].upper()
    return args


@contextmanager
def environment(registry):
    """A superuser environment in its own transaction, committed at the end.

    As Odoo around a request: caches cleared by another process are cleared here
    first, and the caches this block clears (``set_param``...) are signalled to a
    served Odoo's workers after the commit; without it they keep the old value."""
    registry = registry.check_signaling()
    with registry.manage_changes(), registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        cr.commit()  # pylint: disable=invalid-commit


def _status_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


@contextmanager
def peak_rss_growth():
    """Yield a dict whose ``mb`` is, afterwards, how far the process's resident memory
    peaked above where it stood when the block began (Linux: the high-water mark is
    reset through /proc/self/clear_refs)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    before = _status_kb("VmRSS")
    result = {"mb": 0.0}
    yield result
    result["mb"] = (_status_kb("VmHWM") - before) / 1024


def out(text=""):
    """A line of figures on stdout, flushed (runs are long; pylint-odoo bans print)."""
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


class Timings:
    """Seconds per scenario over repeated runs; prints median, min and max."""

    def __init__(self):
        self.rows = {}

    @contextmanager
    def measure(self, scenario):
        start = time.perf_counter()
        yield
        self.rows.setdefault(scenario, []).append(time.perf_counter() - start)

    def print(self, targets=None):
        targets = targets or {}
        out(f"\n{'scenario':<44} {'median':>8} {'min':>8} {'max':>8}  runs  target")
        for scenario, seconds in self.rows.items():
            out(
                f"{scenario:<44} {statistics.median(seconds):>7.2f}s "
                f"{min(seconds):>7.2f}s {max(seconds):>7.2f}s  {len(seconds):>4}  "
                f"{targets.get(scenario, '')}"
            )
