"""Alerts: detection of unusual inactivity, incidents, and community escalation by SMS."""
