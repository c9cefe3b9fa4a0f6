"""The regulator's audit export: signed checkpoints, the export zip, its offline verifier.

Pure (no database, no network): format.py, merkle.py, signing.py, verify.py,
restatements.py. Database-side: checkpoints.py (through the EventStore port),
writer.py and sources.py (asyncpg cursors).
"""
