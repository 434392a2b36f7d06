"""The ``docent`` command: one module per command group, each a thin shell over the core.

- ``main``           the Typer app and the small commands (``ask``, ``eval``, ``models`` …)
- ``ingest``         ``docent ingest``: progress bar and summary
- ``remote_ingest``  ingest through a running server that holds the embedded store
- ``docs``           ``docent docs``: list, remove, re-index
- ``users``          ``docent users``: accounts from the terminal
- ``serve``          ``docent serve``: load once, seed the demo, start uvicorn
"""
