"""Generate hwlib's affine-fitting data set (instructor side; the output ships with hwlib).

N = 200 points p_i are drawn uniformly inside the letter "F" (an asymmetric
shape, so rotation, shear and reflection are easy to see) within [-1, 1]^2.
Their targets are p'_i = S_true p_i + t_true + noise, noise ~ N(0, 0.003^2) per
coordinate, so the best affine fit has a mean squared error of about 2e-5: below
the 1e-4 target, but not zero. Plain gradient descent from S = I, t = 0 reaches
1e-4 in about 180 steps with learning rate 0.1 and diverges above about 0.9.

Usage:
    python autograder/make_affine_data.py [--out PATH] [--seed N]

Writes an .npz with float64 arrays P (N, 2), P_prime (N, 2), S_true (2, 2),
t_true (2,). The arrays depend only on the seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "hwlib" / "data" / "affine_correspondences.npz"
DEFAULT_SEED = 442
NUM_POINTS = 200
NOISE_STD = 0.003

#: The letter F as a union of axis-aligned boxes (x_min, x_max, y_min, y_max).
LETTER_F_BOXES = (
    (-0.7, -0.3, -1.0, 1.0),  # stem
    (-0.3, 0.7, 0.6, 1.0),  # top bar
    (-0.3, 0.4, -0.1, 0.3),  # middle bar
)


def true_transform() -> tuple[np.ndarray, np.ndarray]:
    """S_true (2, 2) = rotation by 30 degrees after a scale-and-shear; t_true (2,)."""
    angle = np.deg2rad(30.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    scale_and_shear = np.array([[1.3, 0.4], [0.0, 0.8]])
    return rotation @ scale_and_shear, np.array([0.6, -0.4])


def points_in_letter_f(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` points uniform inside LETTER_F_BOXES, shape (count, 2), by rejection sampling."""
    accepted: list[np.ndarray] = []
    total = 0
    while total < count:
        candidates = rng.uniform(-1.0, 1.0, size=(4 * count, 2))
        inside = np.zeros(len(candidates), dtype=bool)
        for x_min, x_max, y_min, y_max in LETTER_F_BOXES:
            inside |= (
                (candidates[:, 0] >= x_min) & (candidates[:, 0] <= x_max)
                & (candidates[:, 1] >= y_min) & (candidates[:, 1] <= y_max)
            )
        accepted.append(candidates[inside])
        total += int(inside.sum())
    return np.concatenate(accepted)[:count]


def make_correspondences(seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    """The data set as float64 arrays: P (N, 2), P_prime (N, 2), S_true (2, 2), t_true (2,)."""
    rng = np.random.default_rng(seed)
    P = points_in_letter_f(rng, NUM_POINTS)
    S_true, t_true = true_transform()
    P_prime = P @ S_true.T + t_true + rng.normal(0.0, NOISE_STD, size=P.shape)
    return {"P": P, "P_prime": P_prime, "S_true": S_true, "t_true": t_true}


def describe(data: dict[str, np.ndarray]) -> str:
    """Instructor summary: the best achievable loss and the largest stable learning rate."""
    P, P_prime = data["P"], data["P_prime"]
    homogeneous = np.column_stack([P, np.ones(len(P))])
    best, *_ = np.linalg.lstsq(homogeneous, P_prime, rcond=None)
    best_loss = np.mean(np.sum((homogeneous @ best - P_prime) ** 2, axis=1))
    curvature = np.linalg.eigvalsh(2.0 * homogeneous.T @ homogeneous / len(P))
    return (
        f"N = {len(P)}\nS_true =\n{data['S_true']}\nt_true = {data['t_true']}\n"
        f"least-squares loss = {best_loss:.3g} (target 1e-4)\n"
        f"gradient descent is stable for learning rates below {2.0 / curvature.max():.3g}; "
        f"condition number {curvature.max() / curvature.min():.3g}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the .npz")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    data = make_correspondences(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **data)
    print(f"wrote {args.out}\n{describe(data)}")


if __name__ == "__main__":
    main()
