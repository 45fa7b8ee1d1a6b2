"""Operating reauto: the metrics endpoint of a dialer and what watches it (``reauto top``)."""
