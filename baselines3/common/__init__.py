"""Building blocks shared by the algorithms."""
