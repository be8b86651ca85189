"""gitward.updates."""
