"""Escalation state: households, contacts, policies, incidents, SMS and the audit log (SQLite).

``models`` holds the dataclasses, ``repository`` the typed SQLite access. Detection reads household
profiles through its own adapter (``alerts/detection/profiles.py``).
"""
