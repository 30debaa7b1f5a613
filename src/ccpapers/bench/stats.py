"""Statistics of bench results: means, t-intervals at any level (Student's t quantiles from
scipy where installed, else computed here from the regularized incomplete beta function) and
the item-level paired bootstrap."""

from __future__ import annotations


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(c) > tiny else 1.0 + aa / tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(c) > tiny else 1.0 + aa / tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-14:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    import math

    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(ln) * _betacf(a, b, x) / a
    return 1.0 - math.exp(ln) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student's t distribution function (no scipy needed)."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom: scipy's where installed, else
    bisection on :func:`t_cdf` (agrees with scipy to about 1e-9)."""
    try:
        from scipy.stats import t as student_t
    except ImportError:
        student_t = None
    if student_t is not None:
        return float(student_t.ppf(p, df))
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_quantile: p={p} must be in (0, 1)")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


def mean_ci(xs: list[float], level: float = 0.95) -> dict[str, float]:
    """Mean, sample SD and a t confidence interval at ``level``; one value has no interval
    (bounds NaN): use :func:`paired_bootstrap` over questions then."""
    import math

    n = len(xs)
    m = mean(xs)
    if n < 2:
        return {"mean": m, "sd": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": n}
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    h = t_quantile(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
    return {"mean": m, "sd": sd, "ci_low": m - h, "ci_high": m + h, "n": n}


def paired_bootstrap(
    after: list[float], before: list[float], n: int = 2000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Item-level paired bootstrap of mean(after - before): a CI for the gain of one seed
    (questions resampled with replacement, both scores of an item kept together)."""
    import random

    diffs = [a - b for a, b in zip(after, before, strict=True)]
    if not diffs:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
    rng = random.Random(seed)
    k = len(diffs)
    means = sorted(sum(diffs[rng.randrange(k)] for _ in range(k)) / k for _ in range(n))
    lo = means[int((1 - level) / 2 * n)]
    hi = means[min(n - 1, int((1 + level) / 2 * n))]
    return {"mean": sum(diffs) / k, "ci_low": lo, "ci_high": hi}
