"""The data-center grid simulator: scenario, workload, job ledger, batched core, adapters."""
