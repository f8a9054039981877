"""Fig 3: SGD balances the columns of single-head attention, ``|q_j| / |k_j| -> 1``.

Scores ``W_Q W_K^T`` are invariant under ``W_Q -> W_Q A``, ``W_K -> W_K A^{-T}``; the student starts
with column ``j`` of ``W_Q`` times ``s_j`` and of ``W_K`` divided by ``s_j``, and ``W_Q`` times a
random gain. Column ratios and the Frobenius ratio ``|W_Q| / |W_K|`` are recorded along the run.
"""

from __future__ import annotations

import numpy as np

from quotientlearn import datasets, models
from quotientlearn.experiments._shared import (
    data_rng,
    new_figure,
    plot_balance,
    run_checkpoint,
    save_figure,
    spread,
    train_rng,
)
from quotientlearn.io import save_arrays
from quotientlearn.sgd import TeacherStudentAttention, train

DESCRIPTION = "Fig 3: SGD balances attention columns, |q_j|/|k_j| -> 1 (per seed)"
CONFIG = {
    "seeds": 8, "seed": 0, "seq_len": 8, "d_emb": 16, "d_head": 8, "teacher_std": 0.75,
    "teacher_gain_base": 4.0, "teacher_gain_slope": 4.0, "student_std": 0.1,
    "student_gain_base": 0.25, "student_gain_slope": 0.25, "scale_spread": 1.2, "batch_size": 16,
    "noise": 0.02, "lr": 1e-3, "n_steps": 50_000, "record_every": 500, "checkpoint_seconds": 60.0,
}
FAST = {"seeds": 4, "n_steps": 5_000, "lr": 4e-3, "record_every": 250}


def column_ratios(model, theta):
    """``|q_j| / |k_j|`` for the columns of ``W_Q`` and ``W_K``, shape ``(..., d_head)``."""
    blocks = model.space.split(theta)
    return np.linalg.norm(blocks["W_Q"], axis=-2) / np.linalg.norm(blocks["W_K"], axis=-2)


def frobenius_ratio(model, theta):
    """``|W_Q|_F / |W_K|_F``, shape ``(...,)``."""
    blocks = model.space.split(theta)
    return np.linalg.norm(blocks["W_Q"], axis=(-2, -1)) / np.linalg.norm(blocks["W_K"],
                                                                          axis=(-2, -1))


def initial_student(model, config, rng):
    """Gaussian ``(W_Q, W_K)`` with column scales ``s_j``, ``1/s_j`` and a random gain on ``W_Q``."""
    n_seeds = config["seeds"]
    blocks = model.space.split(config["student_std"] * rng.standard_normal((n_seeds, model.dim)))
    scales = datasets.neuron_scales(model.d_head, config["scale_spread"])
    gain = config["student_gain_base"] + config["student_gain_slope"] * np.abs(
        rng.standard_normal(n_seeds))
    return model.space.join(W_Q=blocks["W_Q"] * scales * gain[:, None, None],
                            W_K=blocks["W_K"] / scales)


def run(config, out_dir, resume=False):
    """Train ``seeds`` students at once; report column and Frobenius ratio spreads."""
    model = models.Attention(config["d_emb"], config["d_head"], group="columns")
    rng = data_rng(config)
    teacher = datasets.attention_teacher(
        model, config["seeds"], rng, config["teacher_std"],
        (config["teacher_gain_base"], config["teacher_gain_slope"]))
    theta0 = initial_student(model, config, rng)
    objective = TeacherStudentAttention(model, teacher, config["batch_size"], config["seq_len"],
                                        config["noise"])
    result = train(objective, theta0, config["lr"], config["n_steps"], train_rng(config, 0),
                   record=lambda theta: {"ratio": column_ratios(model, theta),
                                         "frobenius": frobenius_ratio(model, theta)},
                   record_every=config["record_every"],
                   checkpoint=run_checkpoint(out_dir, "student", config), resume=resume,
                   desc="attention-balance")
    ratios, frob = result.records["ratio"], result.records["frobenius"]
    log_max = np.max(np.abs(np.log(ratios)), axis=-1)                  # (n_records, S)
    save_arrays(out_dir / "arrays.npz", steps=result.record_steps, ratios=ratios,
                frobenius=frob, theta_final=result.theta, theta_initial=theta0, teacher=teacher)
    _figure(result.record_steps, ratios, frob, out_dir / "attention_balance.png")
    return {
        "ratio_min": spread(ratios[-1].min(axis=-1)),
        "ratio_max": spread(ratios[-1].max(axis=-1)),
        "max_abs_log_ratio": spread(log_max[-1]),
        "max_abs_log_ratio_by_step": {"steps": result.record_steps.tolist(),
                                      **spread(log_max.T)},
        "frobenius_ratio": spread(frob[-1]),
        "initial_frobenius_ratio": spread(frob[0]),
        "initial_ratio_min": spread(ratios[0].min(axis=-1)),
        "initial_ratio_max": spread(ratios[0].max(axis=-1)),
        "paper": {"initial_ratio_range": [0.037, 5.3], "final_ratio_range": [0.935, 1.012],
                  "frobenius_ratio": [0.38, 0.98]},
    }


def _figure(steps, ratios, frob, path):
    figure, (left, right) = new_figure(2)
    plot_balance(left, right, steps, ratios, frob, "tab:orange", {
        "unit": "column j", "ratio": "|q_j| / |k_j|", "title": "column ratios, all seeds",
        "curve": "|W_Q|_F / |W_K|_F", "curve_title": "Frobenius ratio"})
    right.axhline(1.0, color="k", lw=1)
    save_figure(figure, path)
