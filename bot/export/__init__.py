"""The researchers' export: decrypted testimonies in, files report writers can use out.

A chain of small steps, each testable alone (see `pipeline.py` for the order):

    consent filter -> record filters -> export pseudonyms -> bidi cleaning -> redaction
    -> k-anonymity of quasi-identifiers -> writers (csv, jsonl, xlsx, qdpx, media)
    -> review files (redactions.csv, disclosure report)

Nothing here touches SQL or cryptography: testimonies come from `storage.reader`.
"""
