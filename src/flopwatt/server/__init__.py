"""HTTP API and web page (FastAPI). Every endpoint runs the same code path as the CLI."""
