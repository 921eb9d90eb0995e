"""What every benchmark prints: a timed figure beside the baseline measured in the same run."""

import time


def timed(fn):
    """(seconds, result) of calling `fn`."""
    began = time.perf_counter()
    value = fn()
    return time.perf_counter() - began, value


def line(name: str, seconds: float, baseline: float, count: int, unit: str) -> None:
    print(
        f"{name:<46} {seconds:8.2f} s  {count / seconds:>10,.0f} {unit}/s   "
        f"baseline {baseline:6.2f} s  ratio {seconds / baseline:5.1f}x"
    )
