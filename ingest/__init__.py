"""Turn files into searchable chunks: parse -> chunk -> embed -> store, recorded in a catalog.

This package never imports `app`; every function takes explicit arguments.
"""
