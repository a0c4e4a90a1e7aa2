"""Fleets: many captures (or golden images) scanned into one resumable database (SQLite, or PostgreSQL).

inputs.py finds the images and their host names; store.py is the database (database.py its connection);
run.py scans them on a local process pool or a Dask cluster (where cluster.py judges each distinct catalog
once) and commits each
result as it arrives; summary.py turns the database into the per-host table.
"""
