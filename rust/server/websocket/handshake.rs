//! The opening handshake, as uvicorn (with the `websockets` library) judges it: which requests
//! become WebSockets, which are refused before the app sees them and with what answer, and the
//! head of every answer the server writes itself.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Response, StatusCode};

use crate::server::body::OutBody;
use crate::server::config::date_value;

/// Whether uvicorn hands this request to its WebSocket protocol: the last `Connection` header
/// lists `upgrade` and the last `Upgrade` header is `websocket`.
pub fn wants_websocket(headers: &HeaderMap) -> bool {
    let connection_upgrade = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .next_back()
        .is_some_and(|value| {
            value
                .as_bytes()
                .split(|b| *b == b',')
                .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
        });
    connection_upgrade
        && headers
            .get_all(http::header::UPGRADE)
            .iter()
            .next_back()
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// A handshake the server refuses itself: the status, the reason after "Failed to open a
/// WebSocket connection: ", and one extra header.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: String,
    pub header: Option<(HeaderName, &'static str)>,
}

impl Refusal {
    fn new(status: StatusCode, reason: String) -> Self {
        Self {
            status,
            reason,
            header: None,
        }
    }

    pub fn response(&self) -> Response<OutBody> {
        let mut text = format!("Failed to open a WebSocket connection: {}.\n", self.reason);
        if self.status == StatusCode::UPGRADE_REQUIRED {
            text.push_str(
                "\nYou cannot access a WebSocket server directly with a browser. \
                 You need a WebSocket client.\n",
            );
        }
        let mut response = plain(self.status, Bytes::from(text), Vec::new());
        if let Some((name, value)) = &self.header {
            response
                .headers_mut()
                .append(name.clone(), HeaderValue::from_static(value));
        }
        response
    }
}

/// `websockets`' answer to a refused handshake (its `reject()`), and the denial responses:
/// `Date`, `Connection: close`, `Content-Length` and a plain-text `Content-Type`, each unless
/// `headers` (the app's, written first) has it already.
pub fn plain(
    status: StatusCode,
    body: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
) -> Response<OutBody> {
    let length = body.len();
    let mut response = Response::new(OutBody::Whole {
        data: Some(body),
        exact: true,
    });
    *response.status_mut() = status;
    let map = response.headers_mut();
    for (name, value) in headers {
        map.append(name, value);
    }
    if !map.contains_key(http::header::DATE) {
        map.insert(http::header::DATE, date_value());
    }
    if !map.contains_key(http::header::CONNECTION) {
        map.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    if !map.contains_key(http::header::CONTENT_LENGTH) {
        map.insert(http::header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    if !map.contains_key(http::header::CONTENT_TYPE) {
        map.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}

/// `websockets`' wording of a header problem.
fn header_problem(name: &str, value: Option<&[u8]>) -> String {
    match value {
        None => format!("missing {name} header"),
        Some(b"") => format!("empty {name} header"),
        Some(value) => format!("invalid {name} header: {}", String::from_utf8_lossy(value)),
    }
}

/// The one value of a header, or the problem with it.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName, label: &str) -> Result<&'a [u8], String> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Err(header_problem(label, None)),
        (Some(value), None) => Ok(value.as_bytes()),
        (Some(_), Some(_)) => Err(header_problem(label, Some(b"multiple values"))),
    }
}

/// Whether `key` is what `base64.b64decode(key, validate=True)` decodes to 16 bytes.
fn valid_key(key: &[u8]) -> bool {
    key.len() == 24
        && key.ends_with(b"==")
        && key[..22]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

/// Checks a handshake request as `websockets`' `ServerProtocol.accept` does, in its order;
/// returns the `Sec-WebSocket-Accept` value.
pub fn check(head: &http::request::Parts) -> Result<String, Refusal> {
    if head.method != http::Method::GET {
        return Err(Refusal {
            header: Some((http::header::ALLOW, "GET")),
            ..Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("unsupported HTTP method: {}", head.method),
            )
        });
    }
    let headers = &head.headers;
    let tokens = |name: HeaderName| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .flat_map(|value| value.as_bytes().split(|b| *b == b','))
            .map(|token| String::from_utf8_lossy(token.trim_ascii()).into_owned())
            .filter(|token| !token.is_empty())
            .collect()
    };
    let upgrade_required = |name: &str, values: Vec<String>| Refusal {
        header: Some((http::header::UPGRADE, "websocket")),
        ..Refusal::new(
            StatusCode::UPGRADE_REQUIRED,
            match values.is_empty() {
                true => header_problem(name, None),
                false => header_problem(name, Some(values.join(", ").as_bytes())),
            },
        )
    };
    let connection = tokens(http::header::CONNECTION);
    if !connection.iter().any(|t| t.eq_ignore_ascii_case("upgrade")) {
        return Err(upgrade_required("Connection", connection));
    }
    let upgrade = tokens(http::header::UPGRADE);
    if !(upgrade.len() == 1 && upgrade[0].eq_ignore_ascii_case("websocket")) {
        return Err(upgrade_required("Upgrade", upgrade));
    }
    let bad_request = |reason| Refusal::new(StatusCode::BAD_REQUEST, reason);
    let key = single(
        headers,
        &http::header::SEC_WEBSOCKET_KEY,
        "Sec-WebSocket-Key",
    )
    .map_err(bad_request)?;
    if !valid_key(key) {
        return Err(bad_request(header_problem("Sec-WebSocket-Key", Some(key))));
    }
    let version = single(
        headers,
        &http::header::SEC_WEBSOCKET_VERSION,
        "Sec-WebSocket-Version",
    )
    .map_err(bad_request)?;
    if version != b"13" {
        return Err(bad_request(header_problem(
            "Sec-WebSocket-Version",
            Some(version),
        )));
    }
    Ok(tokio_tungstenite::tungstenite::handshake::derive_accept_key(key))
}

/// `subprotocols` for the scope: every `Sec-WebSocket-Protocol` header split on commas.
pub fn subprotocols(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b','))
        .map(|token| String::from_utf8_lossy(token.trim_ascii()).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder().method(method).uri("/ws");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    const GOOD: [(&str, &str); 4] = [
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("sec-websocket-version", "13"),
    ];

    #[test]
    fn a_valid_handshake_gets_the_rfc_accept_key() {
        assert_eq!(
            check(&head("GET", &GOOD)),
            Ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned())
        );
    }

    #[test]
    fn refusals_say_what_websockets_says() {
        let refused = check(&head("POST", &GOOD)).unwrap_err();
        assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(refused.reason, "unsupported HTTP method: POST");
        let mut missing = GOOD.to_vec();
        missing.remove(2);
        assert_eq!(
            check(&head("GET", &missing)).unwrap_err().reason,
            "missing Sec-WebSocket-Key header"
        );
        let mut bad = GOOD.to_vec();
        bad[2].1 = "short";
        assert_eq!(
            check(&head("GET", &bad)).unwrap_err().reason,
            "invalid Sec-WebSocket-Key header: short"
        );
        let mut version = GOOD.to_vec();
        version[3].1 = "8";
        assert_eq!(
            check(&head("GET", &version)).unwrap_err().reason,
            "invalid Sec-WebSocket-Version header: 8"
        );
        let mut twice = GOOD.to_vec();
        twice.push(("upgrade", "h2c"));
        let refused = check(&head("GET", &twice)).unwrap_err();
        assert_eq!(refused.status, StatusCode::UPGRADE_REQUIRED);
        assert_eq!(refused.reason, "invalid Upgrade header: websocket, h2c");
    }

    #[test]
    fn only_the_last_connection_and_upgrade_headers_decide_the_protocol() {
        let map = |pairs: &[(&str, &str)]| head("GET", pairs).headers;
        assert!(wants_websocket(&map(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "WebSocket")
        ])));
        assert!(!wants_websocket(&map(&[
            ("connection", "upgrade"),
            ("connection", "close"),
            ("upgrade", "websocket")
        ])));
        assert!(!wants_websocket(&map(&[
            ("connection", "upgrade"),
            ("upgrade", "h2c")
        ])));
        assert!(!wants_websocket(&map(&[("upgrade", "websocket")])));
    }

    #[test]
    fn subprotocols_split_on_commas_across_headers() {
        let headers = head(
            "GET",
            &[
                ("sec-websocket-protocol", "a, b"),
                ("sec-websocket-protocol", "c"),
            ],
        )
        .headers;
        assert_eq!(subprotocols(&headers), ["a", "b", "c"]);
    }
}
