"""The shipped agents run from NumPy weights that act exactly as the SB3 policies they came from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gridshift.agents.mlp import MLPPolicy
from gridshift.agents.registry import make_policy
from gridshift.eval.runner import run_episode

WEIGHTS = Path(__file__).resolve().parents[1] / "agents" / "weights"


class Recorder:
    """FIFO that records every observation it is shown."""

    name, action_mode = "rec", "discrete"

    def __init__(self):
        self.obs = []

    def reset(self, seed, context):
        self.n = context.n_agents

    def act(self, observations, infos):
        self.obs.append(np.array(observations))
        return np.zeros(self.n, np.int64)


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_npz_actions_equal_the_sb3_policy_on_recorded_observations(algo):
    pytest.importorskip("stable_baselines3")
    from gridshift.agents.trained import SB3Policy

    rec = Recorder()
    for seed in (1000, 1001):
        run_episode(rec, "default", seed, settle=False)
    obs = np.concatenate(rec.obs)  # [2 x 288 x 8, 33]
    sb3 = SB3Policy.from_zip(WEIGHTS / f"sb3_{algo}_default.zip")
    npz = MLPPolicy.from_npz(WEIGHTS / f"sb3_{algo}_default.npz")
    a_sb3 = sb3.act(obs, None)
    a_npz = npz.act(obs, None)
    assert obs.shape[0] == 2 * 288 * 8 and len(np.unique(a_sb3)) >= 1
    # Equal everywhere but at exact ties: two actions whose logits / Q-values are within a few
    # float32 ulps, where torch's and NumPy's summation orders may pick different argmaxes.
    top2 = np.sort(npz.forward(obs), axis=1)[:, -2:]
    tie = (top2[:, 1] - top2[:, 0]) <= 1e-5 * np.maximum(1.0, np.abs(top2[:, 1]))
    np.testing.assert_array_equal(a_npz[~tie], a_sb3[~tie])
    assert tie.mean() < 0.01  # ties are rare: the comparison covers at least 99 % of the observations


def test_shipped_policies_need_no_torch():
    # torch and SB3 cannot be imported (as on a machine without them); a None in sys.modules
    # would also confuse libraries that probe sys.modules for torch (scipy's array API layer).
    code = ("import sys, importlib.abc\n"
            "class Block(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name.split('.')[0] in ('torch', 'stable_baselines3'):\n"
            "            raise ImportError(name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "from gridshift.agents.registry import make_policy\n"
            "from gridshift.eval.runner import run_episode\n"
            "r = run_episode(make_policy('sb3_ppo'), 'default', 1000, horizon_steps=16, warmup_steps=4)\n"
            "print(len(r.rewards))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "16"


def test_mlp_by_hand_and_bad_files(tmp_path):
    pol = MLPPolicy([np.array([[1.0, -1.0], [0.5, 0.5]]), np.eye(2)[::-1]], [np.zeros(2), np.array([0.0, 0.1])], "relu", "t")
    # x = [2, 1]: hidden relu([1, 1.5]) = [1, 1.5]; output = [1.5, 1] + [0, 0.1] = [1.5, 1.1] -> action 0
    np.testing.assert_allclose(pol.forward(np.array([[2.0, 1.0]])), [[1.5, 1.1]], rtol=1e-6)
    assert pol.act(np.array([[2.0, 1.0], [-2.0, 1.0]]), None).tolist() == [0, 1]
    with pytest.raises(ValueError, match="activation='gelu' is invalid"):
        MLPPolicy([np.eye(2)], [np.zeros(2)], "gelu", "t")
    with pytest.raises(FileNotFoundError, match="not found"):
        MLPPolicy.from_npz(tmp_path / "none.npz")
    assert make_policy("sb3_ppo").weights_path.endswith("sb3_ppo_default.npz")
