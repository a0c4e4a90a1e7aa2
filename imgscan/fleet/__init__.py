"""Fleets: many hosts, built from captures or golden images, judged into one resumable database (SQLite,
or PostgreSQL).

inputs.py and manifest.py find the images and the hosts built from them (host.py); work.py reads each
image once and judges each of its hosts; store.py is the database (database.py its connection); run.py
runs the images on a local process pool or a Dask cluster (where cluster.py judges each distinct catalog
once) and commits the hosts of each image as they arrive; summary.py turns a run into the per-host table.
"""
