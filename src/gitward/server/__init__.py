"""gitward.server."""
