#!/usr/bin/python3
"""TwoNN and MLE on 20k x 768 points: Probescope (build/tests/analysis/id_bench) against the NumPy a researcher
writes (blocked ‖x‖² + ‖y‖² − 2 X Yᵀ with np.argpartition for the k nearest, then the two estimators), on the
same points (a 10-d Gaussian embedded in 768 dims plus noise), the same threads, in one run.

  tests/bench/id_vs_numpy.py [--bench build/tests/analysis/id_bench] [--n 20000] [--dim 768] [--threads 2]
Needs: python3-numpy (benchmarks only; never the product). NumPy's matmul uses the same OpenBLAS.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time


def knn(x, k, block=2048):
    """Distances to the k nearest other points, ascending (float32 GEMM, as a researcher writes it)."""
    import numpy as np
    sq = (x * x).sum(1)
    out = np.empty((len(x), k), np.float64)
    for b0 in range(0, len(x), block):
        d2 = sq[b0:b0 + block, None] + sq[None, :] - 2.0 * (x[b0:b0 + block] @ x.T)
        np.fill_diagonal(d2[:, b0:b0 + block], np.inf)
        part = np.partition(d2, k - 1, axis=1)[:, :k]
        out[b0:b0 + block] = np.sqrt(np.maximum(np.sort(part, axis=1), 0))
    return out


def twonn(r):
    import numpy as np
    mu = r[:, 1] / r[:, 0]
    mu = np.sort(mu[np.isfinite(mu) & (mu > 1)])
    n = len(mu)
    m = int(0.9 * n)
    xv, yv = np.log(mu[:m]), -np.log(1 - np.arange(1, m + 1) / n)
    return float((xv * yv).sum() / (xv * xv).sum())


def mle(r, k1=10, k2=20):
    import numpy as np
    logt = np.log(r[:, :k2])
    est = [((k - 1) / (logt[:, k - 1:k] - logt[:, :k - 1]).sum(1)).mean() for k in range(k1, k2 + 1)]
    return float(np.mean(est))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/tests/analysis/id_bench")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(a.threads)  # before numpy loads
    import numpy as np
    print("load:", open("/proc/loadavg").read().split()[:3], "threads", a.threads, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "points.f32")
        out = subprocess.run([a.bench, str(a.n), str(a.dim), "10", str(a.threads), "50", path], check=True,
                             capture_output=True, text=True).stdout
        print(out.strip(), flush=True)
        x = np.fromfile(path, np.float32).reshape(a.n, a.dim)
    ps = {}
    for m in re.finditer(r"^(TwoNN|MLE) [(k][^:]*: ([\d.]+) s", out, re.M):  # not the bootstrap line
        ps.setdefault(m.group(1), float(m.group(2)))
    t0 = time.perf_counter()
    r2 = knn(x, 2)
    tw = twonn(r2)
    t_tw = time.perf_counter() - t0
    t0 = time.perf_counter()
    r20 = knn(x, 20)
    ml = mle(r20)
    t_ml = time.perf_counter() - t0
    print(f"NumPy TwoNN: {t_tw:.2f} s  ID {tw:.3f};  Probescope {ps.get('TwoNN', float('nan')):.2f} s "
          f"-> x{t_tw / ps.get('TwoNN', float('nan')):.2f}")
    print(f"NumPy MLE:   {t_ml:.2f} s  ID {ml:.3f};  Probescope {ps.get('MLE', float('nan')):.2f} s "
          f"-> x{t_ml / ps.get('MLE', float('nan')):.2f}")
    shared = re.search(r"^TwoNN \+ MLE from one shared kNN[^:]*: ([\d.]+) s", out, re.M)
    if shared:  # NumPy's MLE run already holds the 20 nearest: TwoNN from its first two costs nothing more
        t_sh = float(shared.group(1))
        print(f"TwoNN + MLE from one kNN: NumPy {t_ml:.2f} s, Probescope {t_sh:.2f} s -> x{t_ml / t_sh:.2f}")
    print("load:", open("/proc/loadavg").read().split()[:3], flush=True)


if __name__ == "__main__":
    sys.exit(main())
