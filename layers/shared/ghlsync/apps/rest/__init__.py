"""The declarative REST connector: a connector built from a spec (`AppSpec`) instead of code."""
