"""The built-in ASGI server: hyper and tokio for HTTP, one asyncio loop for the app.

`tachyon app:app` (or `python -m tachyon_engine.server app:app`) takes uvicorn's options;
`run(app, **options)` is `uvicorn.run`'s counterpart."""

from tachyon_engine.server.config import Config
from tachyon_engine.server.main import run

__all__ = ["Config", "run"]
