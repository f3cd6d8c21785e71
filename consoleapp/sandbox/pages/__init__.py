"""The sandbox's own pages: an overview, scenario buttons and fault injection."""
