"""gridshift.eval (see DESIGN.md)."""
