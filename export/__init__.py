"""The regulator's audit export: signed checkpoints, the export zip, its offline verifier.

Pure (no database, no network): format.py, merkle.py, signing.py and verify/ (the
offline verifier: archive.py, chain.py, log.py, arithmetic.py, restatements.py).
Database-side: checkpoints.py (through the EventStore port), writer.py, sources.py and
stream.py.
"""
