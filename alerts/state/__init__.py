"""Escalation state: households, contacts, policies, incidents, SMS and the audit log (SQLite).

``models`` holds the dataclasses, ``repository`` the typed SQLite access, ``profile`` the small port
detection reads (away periods, night-exit opt-in).
"""
