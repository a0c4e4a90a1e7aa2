"""Built-in checks (installed as imgscan.plugins): one check per file, metadata at the top."""
