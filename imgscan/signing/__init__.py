"""Signatures, one subject: catalogs and PE files as WinVerifyTrust and firmware judge them.

`catalog` parses catalog files (PKCS#7 around a Certificate Trust List), `authenticode` PE files'
embedded signatures, `certs` the certificates in both; `trust_store` builds the image's trust stores and
`validity` judges a signature against them as of a day (`Judge`, `Verdict`). `secureboot` names the CAs a
boot manager is signed under and the image's Secure Boot servicing state; `firmware_db` reads the hosts'
exported db and dbx. `catalog_workers` judges many catalogs on worker processes and `verdict_cache` keeps
a fleet's verdicts. None of them knows about checks, findings or reports.
"""
