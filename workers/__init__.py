"""Background processes: the RQ worker, its job functions, and the periodic scheduler."""
