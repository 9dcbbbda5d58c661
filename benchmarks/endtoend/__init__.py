"""End to end: every app on uvicorn, on granian and on the tachyon server, loaded by wrk over loopback."""
