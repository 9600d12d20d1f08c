//! Outbound HTTP through the host's `wasi:http`: a JSON `POST` or a `GET`,
//! the response body read up to a cap.
//!
//! Whether a request may leave is the host's decision (the manifest's
//! `allowed_outbound_hosts`), and so are credentials: the host attaches secret
//! headers per the manifest, so requests built here carry none. Errors name
//! the URL's host only, never its path, which for webhooks often holds a token.

use crate::HandlerError;
use crate::wasi::http::outgoing_handler;
use crate::wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingResponse, Method, OutgoingBody, OutgoingRequest, Scheme,
    http_error_code,
};
use crate::wasi::io::streams::StreamError;
use serde_json::Value;

/// How much of a response body an error message quotes.
pub const SNIPPET_BYTES: usize = 200;
/// `blocking-write-and-flush` accepts at most 4096 bytes per call.
const WRITE_CHUNK: usize = 4096;
const READ_CHUNK: u64 = 64 * 1024;

/// An `http` or `https` URL, split the way `wasi:http` requests take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    https: bool,
    authority: String,
    path_with_query: String,
}

impl Url {
    /// Parses `http://host[:port][/path][?query]`; a fragment is dropped (it
    /// never reaches the server).
    pub fn parse(text: &str) -> Result<Url, String> {
        let text = text.trim();
        if text.contains(char::is_whitespace) {
            return Err(format!("`{text}` contains whitespace"));
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(format!("`{text}` has no scheme; expected http://... or https://..."));
        };
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            other => return Err(format!("scheme `{other}` is not http or https")),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        if authority.is_empty() {
            return Err(format!("`{text}` has no host"));
        }
        if authority.contains('@') {
            return Err(
                "credentials in the URL are not accepted; the host attaches them per the manifest's outbound_headers"
                    .into(),
            );
        }
        let path_with_query = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        Ok(Url { https, authority: authority.to_string(), path_with_query })
    }

    /// `host[:port]`, the part of the URL that is safe to show in messages.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The URL with `name=value` added to its query, both percent-encoded.
    pub fn with_query(&self, name: &str, value: &str) -> Url {
        let separator = if self.path_with_query.contains('?') { '&' } else { '?' };
        let path_with_query = format!("{}{separator}{}={}", self.path_with_query, encode(name), encode(value));
        Url { path_with_query, ..self.clone() }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A response: its status and up to the cap of its body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// The body was longer than the cap; `body` holds its first cap bytes.
    pub truncated: bool,
    /// Bytes of the request body sent.
    pub sent: usize,
}

impl Response {
    /// The start of the body, for error messages.
    pub fn snippet(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(SNIPPET_BYTES)]).into_owned()
    }

    /// The response if its status is 2xx; otherwise a failure quoting the
    /// status and the start of the body.
    pub fn success(self, url: &Url) -> Result<Response, HandlerError> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        Err(HandlerError::Failed(format!("{} answered HTTP {}: {}", url.authority, self.status, self.snippet())))
    }

    /// The body as JSON; a truncated body is an error, not a parse failure.
    pub fn json(&self, url: &Url) -> Result<Value, HandlerError> {
        if self.truncated {
            return Err(HandlerError::Failed(format!(
                "the response from {} is larger than {} bytes",
                url.authority,
                self.body.len()
            )));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            HandlerError::Failed(format!("the response from {} is not JSON ({e}): {}", url.authority, self.snippet()))
        })
    }
}

/// `POST`s `body` as `application/json`; reads at most `max_response_bytes` of the answer.
pub fn post_json(url: &Url, body: &Value, max_response_bytes: usize) -> Result<Response, HandlerError> {
    let body = body.to_string();
    // A declared length: some webhook endpoints refuse chunked bodies.
    let length = body.len().to_string();
    let headers = [("content-type", "application/json"), ("content-length", length.as_str())];
    send(Method::Post, url, &headers, Some(body.as_bytes()), max_response_bytes)
}

/// `GET`s `url`, asking for JSON; reads at most `max_response_bytes` of the answer.
pub fn get(url: &Url, max_response_bytes: usize) -> Result<Response, HandlerError> {
    send(Method::Get, url, &[("accept", "application/json")], None, max_response_bytes)
}

/// The typed error of a request that got no response: a host that the
/// manifest does not allow is `not-permitted`, anything else `failed`.
pub fn transport_error(url: &Url, code: &ErrorCode) -> HandlerError {
    match code {
        ErrorCode::HttpRequestDenied => HandlerError::NotPermitted(format!(
            "request to {} denied (HttpRequestDenied): the handler's manifest does not list it in allowed_outbound_hosts",
            url.authority
        )),
        other => HandlerError::Failed(format!("request to {} failed: {other:?}", url.authority)),
    }
}

fn send(
    method: Method,
    url: &Url,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    max_response_bytes: usize,
) -> Result<Response, HandlerError> {
    let failed = |what: &str| HandlerError::Failed(format!("request to {}: {what}", url.authority));
    let entries: Vec<(String, Vec<u8>)> = headers.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect();
    let fields = Fields::from_list(&entries).map_err(|e| failed(&format!("invalid headers: {e:?}")))?;
    let request = OutgoingRequest::new(fields);
    request.set_method(&method).map_err(|()| failed("invalid method"))?;
    let scheme = if url.https { Scheme::Https } else { Scheme::Http };
    request.set_scheme(Some(&scheme)).map_err(|()| failed("invalid scheme"))?;
    request.set_authority(Some(&url.authority)).map_err(|()| failed("invalid host"))?;
    request.set_path_with_query(Some(&url.path_with_query)).map_err(|()| failed("invalid path"))?;
    // A GET takes no body at all: an empty one would still be framed on the wire.
    let outgoing = body.map(|_| request.body().map_err(|()| failed("no request body"))).transpose()?;
    let future = outgoing_handler::handle(request, None).map_err(|code| transport_error(url, &code))?;
    let written = match (outgoing, body) {
        (Some(outgoing), Some(bytes)) => write_body(outgoing, bytes),
        _ => Ok(()),
    };
    // A denied or failed request also breaks the body stream; its error code
    // says more, so the response is checked first.
    let response = wait(&future).map_err(|code| transport_error(url, &code))?;
    written.map_err(|e| failed(&format!("sending the body: {e}")))?;
    let (received, truncated) =
        read_body(&response, max_response_bytes).map_err(|e| failed(&format!("reading the response: {e}")))?;
    Ok(Response { status: response.status(), body: received, truncated, sent: body.map_or(0, <[u8]>::len) })
}

fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), String> {
    {
        // The stream is a child of the body: it must be gone before `finish`.
        let stream = body.write().map_err(|()| "the body stream was already taken".to_string())?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            stream.blocking_write_and_flush(chunk).map_err(describe)?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|code| format!("{code:?}"))
}

fn wait(future: &FutureIncomingResponse) -> Result<IncomingResponse, ErrorCode> {
    future.subscribe().block();
    match future.get() {
        Some(Ok(result)) => result,
        // Unreachable after `block()` with the response taken only here; kept typed all the same.
        Some(Err(())) | None => Err(ErrorCode::InternalError(Some("the response was not ready".into()))),
    }
}

fn read_body(response: &IncomingResponse, max: usize) -> Result<(Vec<u8>, bool), String> {
    let body = response.consume().map_err(|()| "the body was already consumed".to_string())?;
    let stream = body.stream().map_err(|()| "the body stream was already taken".to_string())?;
    let read = read_capped(|n| stream.blocking_read(n), max).map_err(describe);
    // The stream is a child of the body: it goes first.
    drop(stream);
    drop(body);
    read
}

/// Reads until the stream closes or more than `max` bytes arrived; then the
/// body is cut at `max` and marked truncated. At most one byte past the cap is read.
fn read_capped(
    mut read: impl FnMut(u64) -> Result<Vec<u8>, StreamError>,
    max: usize,
) -> Result<(Vec<u8>, bool), StreamError> {
    let mut bytes = Vec::new();
    loop {
        let wanted = READ_CHUNK.min((max + 1 - bytes.len()) as u64);
        match read(wanted) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok((bytes, false)),
            Err(e) => return Err(e),
        }
        if bytes.len() > max {
            bytes.truncate(max);
            return Ok((bytes, true));
        }
    }
}

fn describe(error: StreamError) -> String {
    match error {
        StreamError::Closed => "the stream closed".into(),
        StreamError::LastOperationFailed(e) => match http_error_code(&e) {
            Some(code) => format!("{code:?}"),
            None => e.to_debug_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        let u = url("https://hooks.slack.com/services/T0/B0/x?y=1#frag");
        assert_eq!(
            (u.https, u.authority(), u.path_with_query.as_str()),
            (true, "hooks.slack.com", "/services/T0/B0/x?y=1")
        );
        let u = url(" HTTP://127.0.0.1:8080 ");
        assert_eq!((u.https, u.authority(), u.path_with_query.as_str()), (false, "127.0.0.1:8080", "/"));
        assert_eq!(url("http://h?q=1").path_with_query, "/?q=1");
        let error = |t: &str| Url::parse(t).unwrap_err();
        assert_eq!(error("hooks.slack.com/x"), "`hooks.slack.com/x` has no scheme; expected http://... or https://...");
        assert_eq!(error("ftp://h/x"), "scheme `ftp` is not http or https");
        assert_eq!(error("https:///x"), "`https:///x` has no host");
        assert_eq!(error("http://a b"), "`http://a b` contains whitespace");
        assert!(error("https://user:token@h/x").contains("outbound_headers"));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            url("http://h/lookup").with_query("key", "ACME Corp/é&=").path_with_query,
            "/lookup?key=ACME%20Corp%2F%C3%A9%26%3D"
        );
        assert_eq!(url("http://h/l?v=2").with_query("key", "a-b_c.d~e").path_with_query, "/l?v=2&key=a-b_c.d~e");
    }

    fn reader(chunks: Vec<&'static [u8]>) -> impl FnMut(u64) -> Result<Vec<u8>, StreamError> {
        let mut chunks = chunks.into_iter();
        move |n| chunks.next().map(|c| c[..c.len().min(n as usize)].to_vec()).ok_or(StreamError::Closed)
    }

    #[test]
    fn bodies_are_read_up_to_the_cap() {
        assert_eq!(read_capped(reader(vec![b"abc", b"def"]), 10).unwrap(), (b"abcdef".to_vec(), false));
        assert_eq!(read_capped(reader(vec![b"abc", b"def"]), 6).unwrap(), (b"abcdef".to_vec(), false));
        assert_eq!(read_capped(reader(vec![b"abc", b"defgh"]), 4).unwrap(), (b"abcd".to_vec(), true));
        assert_eq!(read_capped(reader(vec![]), 4).unwrap(), (vec![], false));
        // An endless body: reading stops one byte past the cap.
        let mut asked = Vec::new();
        let endless = |n: u64| {
            asked.push(n);
            Ok(vec![b'x'; n as usize])
        };
        assert_eq!(read_capped(endless, 4).unwrap(), (b"xxxx".to_vec(), true));
        assert_eq!(asked, vec![5]);
    }

    #[test]
    fn non_success_quotes_status_and_the_start_of_the_body() {
        let u = url("https://hooks.example.com/secret-path");
        let response = |status, body: Vec<u8>| Response { status, body, truncated: false, sent: 3 };
        assert!(response(204, vec![]).success(&u).is_ok());
        match response(500, vec![b'x'; 500]).success(&u) {
            Err(HandlerError::Failed(m)) => {
                assert_eq!(m, format!("hooks.example.com answered HTTP 500: {}", "x".repeat(SNIPPET_BYTES)));
            }
            other => panic!("expected a failure, got {other:?}"),
        }
        assert_eq!(response(200, br#"{"a": 1}"#.to_vec()).json(&u).unwrap(), serde_json::json!({"a": 1}));
        let failure = |r: Response| match r.json(&u) {
            Err(HandlerError::Failed(m)) => m,
            other => panic!("expected a failure, got {other:?}"),
        };
        assert!(
            failure(response(200, b"<html>".to_vec())).starts_with("the response from hooks.example.com is not JSON")
        );
        let cut = Response { truncated: true, ..response(200, b"{\"a\":".to_vec()) };
        assert_eq!(failure(cut), "the response from hooks.example.com is larger than 5 bytes");
    }

    #[test]
    fn a_denied_host_is_not_permitted_and_other_errors_fail() {
        let u = url("http://evil.example:9/x");
        assert!(matches!(transport_error(&u, &ErrorCode::HttpRequestDenied),
            HandlerError::NotPermitted(m) if m.starts_with("request to evil.example:9 denied (HttpRequestDenied)")));
        assert!(matches!(transport_error(&u, &ErrorCode::ConnectionRefused),
            HandlerError::Failed(m) if m == "request to evil.example:9 failed: ErrorCode::ConnectionRefused"));
    }
}
