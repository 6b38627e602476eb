"""Data: datasets shipped with pydl and loaders."""
