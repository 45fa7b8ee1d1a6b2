"""The dialer: claim leads, check the gate, place calls, run them, store what happened."""
