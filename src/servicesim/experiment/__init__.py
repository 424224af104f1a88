"""Running models: replications and statistics, executors, the size guard, sweeps, the
optimiser and comparisons.
"""
