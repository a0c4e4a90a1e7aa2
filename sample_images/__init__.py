"""Code that builds the sample images from scenarios (see build.py)."""
