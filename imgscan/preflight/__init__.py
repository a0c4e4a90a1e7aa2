"""Preflight: will these updates install on this image, and from which day will they not?

`package` reads an .msu or update .cab (through cabextract, into a private temporary folder), `manifest`
models its .mum manifests, `facts` is the one adapter from an opened image to the facts the verdicts need
(`ImageFacts`), `verdict` judges one update against those facts as of a day (`reasons`, and `stack` for the
servicing stack it needs, with its facts in `stackdata`), and `order` finds an install
order for a month's updates. The engine (`verdict`, `order`) sees only `UpdatePackage` and `ImageFacts`, so a
host's own facts (free space, network, firmware) can replace the image's later without touching it.
"""
