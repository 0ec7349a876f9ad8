"""Channels translate between a chat platform and the normalised messages of the core."""
