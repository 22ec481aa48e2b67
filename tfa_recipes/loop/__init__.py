"""The training loop every TF-Agents recipe shares: roles, triggers, evaluation, outputs."""
