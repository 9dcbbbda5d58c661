//! `Request.json()`'s `json.loads`, and `JSONResponse.render`: `json.dumps(content, ensure_ascii=False, allow_nan=False,
//! separators=(",", ":")).encode("utf-8")`, byte for byte, for the exact builtin types.

pub mod bindings;
pub mod decode;
pub mod encode;
pub mod escape;
pub mod float;
