"""Fleets: many captures (or golden images) scanned into one resumable SQLite database.

inputs.py finds the images and their host names; store.py is the database;
run.py scans them on a local process pool or a Dask cluster and commits each
result as it arrives; summary.py turns the database into the per-host table.
"""
