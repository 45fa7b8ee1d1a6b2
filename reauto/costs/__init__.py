"""Dollars per call: the pricing catalogue, the per-call cost meter, budgets and their enforcement."""
