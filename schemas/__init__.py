"""schemas package of runql."""
