"""backend package of runql."""
