//! HTTP/1.1 on the server's sockets: parsing one request from a connection's input buffer
//! under the size limit (httparse), query strings, and serialising responses with the
//! right status, content type and connection handling.

use std::fmt::Write as _;

/// Headers parsed per request; more is a 431.
const MAX_HEADERS: usize = 32;

/// A parsed request (borrowing the connection's input buffer).
#[derive(Debug)]
pub struct Request<'a> {
    /// `GET`, `HEAD`, ...
    pub method: &'a str,
    /// Path without the query.
    pub path: &'a str,
    /// Raw query string (after `?`), empty when none.
    pub query: &'a str,
    /// Headers, names as sent.
    pub headers: Vec<(&'a str, &'a [u8])>,
    /// HTTP/1.0 without keep-alive, or `Connection: close`.
    pub close: bool,
    /// Bytes of the request head (what to drop from the buffer).
    pub len: usize,
}

impl Request<'_> {
    /// The first header called `name` (case-insensitive), as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The first query parameter called `name`, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        query_param(self.query, name)
    }
}

/// Why a request could not be parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseOutcome {
    /// Wait for more bytes.
    Partial,
    /// Malformed: 400.
    Bad(&'static str),
    /// Too many headers: 431.
    TooManyHeaders,
}

/// Parses the request head at the start of `buf`.
///
/// # Errors
/// [`ParseOutcome`] when it is incomplete, malformed or has too many headers.
pub fn parse(buf: &[u8]) -> Result<Request<'_>, ParseOutcome> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err(ParseOutcome::Partial),
        Err(httparse::Error::TooManyHeaders) => return Err(ParseOutcome::TooManyHeaders),
        Err(_) => return Err(ParseOutcome::Bad("malformed HTTP request")),
    };
    let method = req.method.ok_or(ParseOutcome::Bad("no method"))?;
    let target = req.path.ok_or(ParseOutcome::Bad("no path"))?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let version = req.version.unwrap_or(1);
    let headers: Vec<(&str, &[u8])> = req.headers.iter().map(|h| (h.name, h.value)).collect();
    let conn = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .map(|(_, v)| v.to_ascii_lowercase());
    let close = match conn.as_deref() {
        Some(v) if v.windows(5).any(|w| w == b"close") => true,
        Some(v) if v.windows(10).any(|w| w == b"keep-alive") => false,
        _ => version == 0,
    };
    Ok(Request {
        method,
        path,
        query,
        headers,
        close,
        len,
    })
}

/// Value of `name` in a query string, percent-decoded (`+` is a space).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A response to serialise.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
    /// Extra headers (`Name: value`).
    pub extra: Vec<(&'static str, String)>,
}

impl Response {
    /// A JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Response {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(body).unwrap_or_default(),
            extra: Vec::new(),
        }
    }

    /// `{"error": msg}` with `status`.
    pub fn error(status: u16, msg: impl Into<String>) -> Self {
        Self::json(status, &serde_json::json!({ "error": msg.into() }))
    }

    /// A body of another type.
    pub fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Response {
            status,
            content_type,
            body,
            extra: Vec::new(),
        }
    }

    /// Serialises head and body into `out`; `head_only` for HEAD requests.
    pub fn write_to(&self, out: &mut Vec<u8>, close: bool, head_only: bool) {
        let mut head = String::with_capacity(160);
        let _ = write!(
            head,
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: {}\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len(),
            if close { "close" } else { "keep-alive" }
        );
        for (k, v) in &self.extra {
            let _ = write!(head, "{k}: {v}\r\n");
        }
        head.push_str("\r\n");
        out.extend_from_slice(head.as_bytes());
        if !head_only {
            out.extend_from_slice(&self.body);
        }
    }
}

/// Reason phrase of the statuses the server sends.
pub const fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_request_with_query_and_keep_alive_rules() {
        let r =
            parse(b"GET /api/x?symbol=BTC%2FUSDT&limit=5 HTTP/1.1\r\nHost: a\r\n\r\nrest").unwrap();
        assert_eq!((r.method, r.path), ("GET", "/api/x"));
        assert_eq!(r.param("symbol").as_deref(), Some("BTC/USDT"));
        assert_eq!(r.param("limit").as_deref(), Some("5"));
        assert_eq!(r.param("none"), None);
        assert!(!r.close);
        assert_eq!(r.len, 58);
        let r = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        assert!(r.close);
        let r = parse(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        assert!(r.close);
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHost"),
            Err(ParseOutcome::Partial)
        ));
    }

    #[test]
    fn bad_input_is_an_outcome_not_a_panic() {
        assert!(matches!(
            parse(b"\x00\x01 / HTTP/1.1\r\n\r\n"),
            Err(ParseOutcome::Bad(_))
        ));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..40 {
            many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(matches!(parse(&many), Err(ParseOutcome::TooManyHeaders)));
        assert_eq!(query_param("a=%zz&b=%4", "a").as_deref(), Some("%zz"));
        assert_eq!(query_param("a=%zz&b=%4", "b").as_deref(), Some("%4"));
        assert_eq!(query_param("q=a+b", "q").as_deref(), Some("a b"));
    }
}
