"""Upgrades keep every row: a database filled at an earlier schema migrates forward with nothing lost."""
