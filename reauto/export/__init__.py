"""CRM and file export of call results and texts: ``reauto export`` and the real-time push."""
