"""Household visits and the grid workers' monthly assessment (issue 20, part 4)."""
