"""Actors and a learner over one Reverb server: the roles, and the launcher that supervises them."""
