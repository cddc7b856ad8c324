"""Local simulations of the real systems our customers run, built from their public documentation
(`REAL_SYSTEMS.md`), each a real HTTP server on 127.0.0.1 that knows its own truth."""
