"""Disaster checks (安否確認): after an earthquake, who is known safe, who cannot be seen, and who to
reach first (docs/community.md, "Disaster check")."""
