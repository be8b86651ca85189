"""gitward: a GitOps engine. Git is the single source of truth for what runs.

Data flows one way (see `gitward.engine`): a source fetches a snapshot of the
repository, renderers turn each app's path into resources, providers read the
live state, the pure core plans the changes, providers apply them, and the
store records every result against the commit that asked for it.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
