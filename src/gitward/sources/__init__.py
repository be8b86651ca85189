"""gitward.sources."""
