"""Rendering with matplotlib (an optional dependency: ``pip install gridshift[plot]``)."""

from __future__ import annotations

import numpy as np


def render_history(history: list[dict], mode: str, step_hours: float):
    try:
        import matplotlib

        if mode == "rgb_array":
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover
        raise ImportError("rendering needs matplotlib: pip install 'gridshift[plot]'") from e
    fig, axes = plt.subplots(3, 1, figsize=(8, 6), sharex=True, dpi=80)
    if history:
        h = np.arange(len(history)) * step_hours
        price = [r["price"] for r in history]
        axes[0].plot(h, price, color="tab:red")
        axes[1].plot(h, [r["dc_load"] for r in history], color="tab:blue")
        axes[2].plot(h, [r["queued"] for r in history], color="tab:green")
        for ax in axes:
            for k, r in enumerate(history):
                if r["dr"]:
                    ax.axvspan(h[k], h[k] + step_hours, color="orange", alpha=0.15, lw=0)
                if r["emergency"]:
                    ax.axvspan(h[k], h[k] + step_hours, color="red", alpha=0.2, lw=0)
    axes[0].set_ylabel("price $/MWh")
    axes[1].set_ylabel("DC load MW")
    axes[2].set_ylabel("queued MWh")
    axes[2].set_xlabel("hours (orange: DR, red: emergency)")
    fig.tight_layout()
    if mode == "human":
        plt.show(block=False)
        plt.pause(0.001)
        return None
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return img
