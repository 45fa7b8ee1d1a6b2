"""Simulated telephony: lead personas speaking over a simulated phone line."""
