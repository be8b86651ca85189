"""gitward.stores."""
