"""gitward.renderers."""
