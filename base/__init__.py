"""The base layer: errors, settings and the bounds of every parameter. Imports nothing of the project."""
