"""gitward.providers."""
