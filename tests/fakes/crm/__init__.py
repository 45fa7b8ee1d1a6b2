"""Loopback doubles of the CRMs reauto exports to (and takes leads from): Follow Up Boss, HubSpot,
Salesforce — each validating auth, request shapes and required fields like the real API, and
failing on demand (429 with Retry-After, 5xx, slow answers)."""
