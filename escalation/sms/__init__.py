"""Sending SMS: the port, its Twilio and outbox adapters, the error-code table, the dispatcher."""
