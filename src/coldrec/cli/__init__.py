"""Command line (typer). Nothing in the library imports this package."""
