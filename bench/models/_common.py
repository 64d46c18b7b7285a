"""Helpers shared by the baseline benchmark scripts."""

import os
import resource
import sys


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def warn_if_busy():
    load1 = os.getloadavg()[0]
    if load1 > 0.5:
        log(f"WARNING: 1-min load average is {load1:.2f}; other processes will skew the numbers")
    return load1


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
