"""The run directory, its lock, its checkpoints, and the one lifecycle that opens or
resumes a run."""
