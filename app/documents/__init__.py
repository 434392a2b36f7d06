"""The knowledge base's documents as the app manages them (``ingest`` does the reading).

- ``catalog``       the document catalog in the app database (``ingest``'s DocumentCatalog)
- ``library``       find, regroup, delete and look inside documents
- ``filters``       search filters from what a user typed, checked and normalised
- ``jobs``          the ingestion job rows (``ingest_jobs``): claims, leases, batches
- ``worker``        the worker loop that runs every job (one per app process)
- ``running``       what the worker loop runs with: lease renewal, runs, a batch's sync step
- ``uploads``       the upload queue (the process's worker): saved under ``DATA_DIR/uploads``
- ``batches``       ``docent ingest`` as a batch of job rows, and following its progress
- ``upload_names``  safe names for uploaded files
"""
