//! Request form bodies: `application/x-www-form-urlencoded` and `multipart/form-data`,
//! parsed as Starlette 1.10 parses them with python-multipart 0.0.32, 0.0.33 or 0.0.34
//! (see [`release`]).

pub mod bindings;
pub mod delimiter;
pub mod multipart;
pub mod options;
pub mod release;
pub mod urlencoded;
