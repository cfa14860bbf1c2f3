"""Channels translate platform updates into engine events and outbound replies into calls."""
