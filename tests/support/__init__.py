"""The test harness: what integration and browser tests start (Medius as `make run` runs it, local
SMTP and HTTP servers, PostgreSQL, Chromium), and what the benchmarks in bench/ start the same way."""
