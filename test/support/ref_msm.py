#!/usr/bin/python3
"""Independent reference for lib/analysis on the ADP data (issue 7, "Must show" 2).

Given the k-means centres that tcbackmap fitted (the SAME discretisation: φ/ψ embedded as
(cos φ, sin φ, cos ψ, sin ψ), each frame assigned to its nearest centre), this script computes
with mdtraj + numpy + scipy only: φ/ψ, discrete trajectories, sliding-window count matrices,
the largest strongly connected set, the reversible maximum-likelihood transition matrix, implied
timescales, and the φ/ψ free-energy surface with the Jensen–Shannon divergence between files.

usage: ref_msm.py REQUEST.json  → prints a JSON result on stdout
REQUEST: {"top": pdb, "trajs": [dcd, ...], "centers": [[c φ, s φ, c ψ, s ψ], ...],
          "phi": [4 atoms], "psi": [4 atoms], "lags": [frames], "dt": ps, "k": n, "bins": n}
"""
import json
import sys

import mdtraj as md
import numpy as np
from scipy.sparse.csgraph import connected_components


def count_matrix(dtraj, lag, n):
    c = np.zeros((n, n))
    np.add.at(c, (dtraj[:-lag], dtraj[lag:]), 1.0)
    return c


def largest_connected_set(c):
    ncomp, labels = connected_components(c > 0, directed=True, connection='strong')
    sizes = np.bincount(labels, minlength=ncomp)
    best = np.flatnonzero(sizes == sizes.max())
    # Ties: the component with more counts, as lib/analysis/msm.ts does.
    totals = [c[np.ix_(labels == b, labels == b)].sum() for b in best]
    return np.flatnonzero(labels == best[int(np.argmax(totals))])


def reversible_mle(c, tol=1e-13, max_iter=1_000_000):
    """Prinz et al. 2011 fixed point: x_i <- sum_j (c_ij + c_ji) / (c_i/x_i + c_j/x_j)."""
    s = c + c.T
    ci = c.sum(axis=1)
    x = s.sum(axis=1) / s.sum()
    for _ in range(max_iter):
        x_new = (s / (ci[:, None] / x[:, None] + ci[None, :] / x[None, :])).sum(axis=1)
        x_new /= x_new.sum()
        done = np.abs(x_new - x).sum() <= tol
        x = x_new
        if done:
            break
    X = s / (ci[:, None] / x[:, None] + ci[None, :] / x[None, :])
    T = X / X.sum(axis=1)[:, None]
    return T, X.sum(axis=1) / X.sum()


def timescales(T, pi, lag, dt, k):
    sq = np.sqrt(pi)
    S = sq[:, None] * T / sq[None, :]
    ev = np.sort(np.abs(np.linalg.eigvalsh(0.5 * (S + S.T))))[::-1]
    out = [(-lag * dt / np.log(e)) if e < 1 else float('inf') for e in ev[1:k + 1]]
    return out + [float('nan')] * (k - len(out))


def wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def js_divergence(p, q):
    p = p / p.sum()
    q = q / q.sum()
    m = 0.5 * (p + q)
    with np.errstate(divide='ignore', invalid='ignore'):
        kl_p = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return 0.5 * kl_p + 0.5 * kl_q


def main():
    req = json.load(open(sys.argv[1]))
    centers = np.asarray(req['centers'], dtype=np.float64)
    n = len(centers)
    edges = np.linspace(-np.pi, np.pi, req['bins'] + 1)
    result = {'trajs': []}
    hists = []
    for path in req['trajs']:
        t = md.load(path, top=req['top'])
        ang = md.compute_dihedrals(t, [req['phi'], req['psi']]).astype(np.float64)
        phi, psi = ang[:, 0], ang[:, 1]
        feat = np.stack([np.cos(phi), np.sin(phi), np.cos(psi), np.sin(psi)], axis=1)
        d2 = ((feat[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        dtraj = np.argmin(d2, axis=1)
        its = []
        active = []
        for lag in req['lags']:
            c = count_matrix(dtraj, lag, n)
            cs = largest_connected_set(c)
            T, pi = reversible_mle(c[np.ix_(cs, cs)])
            its.append(timescales(T, pi, lag, req['dt'], req['k']))
            active.append(int(len(cs)))
        h, _, _ = np.histogram2d(wrap(phi), wrap(psi), bins=[edges, edges])
        hists.append(h)
        p = h / h.sum()
        with np.errstate(divide='ignore'):
            F = -np.log(p)
        F -= F[np.isfinite(F)].min()
        result['trajs'].append({
            'path': path,
            'frames': int(t.n_frames),
            'phi': phi.tolist(),
            'psi': psi.tolist(),
            'dtraj': dtraj.tolist(),
            'timescales': its,
            'activeStates': active,
            'probability': p.ravel().tolist(),
            'freeEnergy': [None if not np.isfinite(f) else float(f) for f in F.ravel()],
        })
    if len(hists) >= 2:
        result['js'] = float(js_divergence(hists[0].ravel(), hists[1].ravel()))
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main()
