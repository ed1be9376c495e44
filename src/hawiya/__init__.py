"""Hawiya: national digital identity and civil-affairs e-services."""
