"""gridshift.training (see DESIGN.md)."""
