"""What each console page shows, composed from the read models' queries and the
store's reads: one module per page, returning plain dataclasses (no HTTP, no HTML), so
a route renders them and bench.console times them."""
