"""Data-source adapters: each translates one source's responses into domain records."""
