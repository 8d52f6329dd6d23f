"""gridshift.agents (see DESIGN.md)."""
