"""The knowledge base's documents as the app manages them (``ingest`` does the reading).

- ``library``       find, regroup, delete and look inside documents
- ``filters``       search filters from what a user typed, checked and normalised
- ``uploads``       the upload queue: saved under ``DATA_DIR/uploads``, ingested by one worker
- ``upload_names``  safe names for uploaded files
"""
