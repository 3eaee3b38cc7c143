"""admf."""
