"""The benchmark protocol's fixed choices, in one place (DESIGN §9, §12).

* **Seeds.** Training draws its episodes from seeds in ``TRAIN_SEEDS``; evaluation uses
  ``EVAL_SEEDS``, which training never uses. The leaderboard's default is the first
  ``DEFAULT_EVAL_SEED_COUNT`` of them.
* **Anchors.** The score of a policy on one (scenario, seed) is
  ``100 x (cost_FIFO - cost) / (cost_FIFO - cost_oracle)`` on the scored cost (social cost plus
  dropped work at the value of lost load, ``scored_cost_usd`` in :mod:`gridshift.eval.metrics`,
  so that every policy pays for the same work): FIFO = 0, the replayed perfect-foresight
  oracle = 100 (L2RPN style). It depends only on the policy's own
  run and the two anchors' runs of the same seed, so it never moves when other policies are
  added or removed. It is undefined (NaN, left out of every aggregate and reported) on a seed
  where the oracle beats FIFO by less than ``MIN_ANCHOR_GAP`` of FIFO's cost.
"""

from __future__ import annotations

#: Seeds a training run may use (its config seed and every episode it samples).
TRAIN_SEEDS = range(0, 1000)
#: Held-out evaluation seeds: never used by training.
EVAL_SEEDS = range(1000, 2000)
DEFAULT_EVAL_SEED_COUNT = 10
#: Validation seeds for evaluation during training (both libraries): in the training range,
#: disjoint from ``EVAL_SEEDS``, so a run can be watched without touching the held-out seeds.
TRAINING_EVAL_SEEDS = (900, 901, 902, 903, 904)
#: The leaderboard's default seeds, as a ``--seeds`` string.
DEFAULT_EVAL_SEEDS = f"{EVAL_SEEDS.start}-{EVAL_SEEDS.start + DEFAULT_EVAL_SEED_COUNT - 1}"

#: The score's anchors: the zero and the hundred.
ANCHOR_ZERO = "fifo"
ANCHOR_HUNDRED = "oracle"
ANCHORS = (ANCHOR_ZERO, ANCHOR_HUNDRED)
#: The metric the score normalises: social cost plus dropped work at the value of lost load.
SCORE_METRIC = "scored_cost_usd"


#: A seed's score is defined only where the oracle beats FIFO by at least this share of FIFO's
#: cost: below it the denominator is noise and one seed's score could flip the sign of a mean.
MIN_ANCHOR_GAP = 1e-4


def score(cost: float, fifo_cost: float, oracle_cost: float) -> float:
    """The anchored score of one run: NaN when the oracle does not beat FIFO on that seed by at
    least ``MIN_ANCHOR_GAP`` of FIFO's cost."""
    span = fifo_cost - oracle_cost
    if not (span > MIN_ANCHOR_GAP * abs(fifo_cost)):
        return float("nan")
    return 100.0 * (fifo_cost - cost) / span


def check_train_seed(seed: int) -> int:
    """Fail fast when a training seed falls in the evaluation range."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed not in TRAIN_SEEDS:
        raise ValueError(f"training seed={seed!r} is invalid: allowed an integer in "
                         f"[{TRAIN_SEEDS.start}, {TRAIN_SEEDS.stop - 1}] (seeds {EVAL_SEEDS.start}+ are held out for evaluation)")
    return seed
