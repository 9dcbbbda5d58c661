"""End to end: the same app on uvicorn and on granian, loaded by wrk over loopback."""
