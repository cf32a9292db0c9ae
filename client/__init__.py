"""client package of runql."""
