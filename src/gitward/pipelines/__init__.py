"""gitward.pipelines."""
