"""LINE as a channel: push messages with answer buttons, a signature-checked webhook, linking codes."""
