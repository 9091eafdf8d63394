"""publisher: RSS, Atom and JSON feeds and breaking-news emails from Jekyll-style posts."""

__version__ = "0.1.0"
