"""gitward.agent."""
