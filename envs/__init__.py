"""The simulator: the grid market, data centers and jobs, grid-operator signals, and the
versioned PettingZoo environments built on a pure, batched array core."""
