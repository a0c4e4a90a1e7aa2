"""`python -m imgscan` runs the same CLI as the `imgscan` console script."""

from imgscan.launch import run

if __name__ == "__main__":  # not when a catalog worker process imports it
    run()
