"""The Python face of `rust/json/`: `json.loads` for `Request.json()`, `json.dumps` for
`JSONResponse.render` and `WebSocket.send_json`."""

from tachyon_engine._core import (
    dumps_json as dumps_json,
    loads_json as loads_json,
    render_json as render_json,
)
