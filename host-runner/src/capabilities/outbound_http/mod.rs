//! Outbound `wasi:http` for handlers, deny by default: a request goes out only
//! when its authority matches one of the handler's allowed hosts (`host`,
//! `host:port`, `*.suffix`, optionally with a scheme) **and** the host of one
//! of the step's plugins (`plugins`). A denied request gets
//! `HTTP-request-denied`, never a connection. Secret headers (webhook
//! tokens) are added by the host on the way out, so they never enter guest memory.

use crate::capabilities::import_log::{ImportCall, ImportLog};
use serde::Deserialize;
use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// A header the host adds to requests to `host`, its value read from the
/// host's environment variable `env` when the manifest is loaded
/// (`[[capabilities.outbound_headers]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderFromEnv {
    pub host: String,
    pub name: String,
    pub env: String,
}

/// What a handler's manifest grants: the hosts it may reach
/// (`allowed_outbound_hosts`) and the secret headers the host attaches
/// (`outbound_headers`).
#[derive(Debug, Clone, Default)]
pub struct OutboundHttpGrant {
    pub allowed_hosts: Arc<AllowedHosts>,
    pub secret_headers: Vec<SecretHeader>,
}

/// Why a manifest's outbound section grants nothing.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// A malformed host rule or header.
    #[error("{0}")]
    Malformed(String),
    #[error("outbound header `{name}` for {host}: environment variable `{env}` is not set")]
    SecretUnset {
        name: String,
        host: String,
        env: String,
        #[source]
        cause: std::env::VarError,
    },
}

impl OutboundHttpGrant {
    /// Checks the allow-list rules and reads each header's value from the environment.
    pub fn resolve(allowed_hosts: &[String], headers: &[HeaderFromEnv]) -> Result<Self, GrantError> {
        let allowed_hosts = AllowedHosts::parse(allowed_hosts).map_err(GrantError::Malformed)?;
        let secret_headers = headers
            .iter()
            .map(|h| {
                let value = std::env::var(&h.env).map_err(|cause| GrantError::SecretUnset {
                    name: h.name.clone(),
                    host: h.host.clone(),
                    env: h.env.clone(),
                    cause,
                })?;
                SecretHeader::new(&h.host, &h.name, &value).map_err(GrantError::Malformed)
            })
            .collect::<Result<_, _>>()?;
        Ok(OutboundHttpGrant { allowed_hosts: Arc::new(allowed_hosts), secret_headers })
    }
}

/// App-wide state: where requests are recorded when asked.
#[derive(Default)]
pub struct OutboundHttpState {
    log: Option<Arc<ImportLog>>,
}

impl OutboundHttpState {
    /// Records every store's requests from now on (see [`ImportLog`]).
    pub fn record_into(&mut self, log: Arc<ImportLog>) {
        self.log = Some(log);
    }

    /// A store's hooks: `component` reaches what `grant` allows among the
    /// hosts of its step's plugins, with the grant's and the plugins' secret headers.
    pub fn prepare(
        &self,
        component: &str,
        grant: &OutboundHttpGrant,
        plugin_hosts: AllowedHosts,
        plugin_secrets: Vec<SecretHeader>,
    ) -> OutboundHttp {
        let secrets: Arc<[SecretHeader]> = grant.secret_headers.iter().cloned().chain(plugin_secrets).collect();
        OutboundHttp {
            log: self.log.clone(),
            ..OutboundHttp::new(component, grant.allowed_hosts.clone(), plugin_hosts, secrets)
        }
    }
}

/// The hosts one component may reach.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

impl AllowedHosts {
    /// Parses rules like `https://api.example.com`, `hooks.slack.com:443`,
    /// `*.example.org`; says which rule is malformed.
    pub fn parse(rules: &[String]) -> Result<Self, String> {
        let rules = rules
            .iter()
            .map(|raw| {
                let (scheme, rest) = match raw.split_once("://") {
                    Some((s, r)) if s == "http" || s == "https" => (Some(s.to_string()), r),
                    Some((s, _)) => return Err(format!("allowed host `{raw}`: scheme `{s}` is not http or https")),
                    None => (None, raw.as_str()),
                };
                let rest = rest.trim_end_matches('/');
                let (host, port) = match rest.rsplit_once(':') {
                    Some((h, p)) => {
                        (h, Some(p.parse::<u16>().map_err(|_| format!("allowed host `{raw}`: bad port `{p}`"))?))
                    }
                    None => (rest, None),
                };
                if host.is_empty() || host.contains('/') || (host.contains('*') && !host.starts_with("*.")) {
                    return Err(format!("allowed host `{raw}`: expected `host`, `host:port` or `*.domain`"));
                }
                Ok(Rule { scheme, host: host.to_ascii_lowercase(), port })
            })
            .collect::<Result<_, _>>()?;
        Ok(AllowedHosts { rules })
    }

    /// Exactly the scheme, host and port of each URL (URLs that do not parse are skipped).
    pub fn of_urls(urls: &[String]) -> Self {
        let rules = urls
            .iter()
            .filter_map(|url| url.trim().parse::<http::Uri>().ok())
            .filter_map(|uri| {
                let scheme = uri.scheme_str()?.to_string();
                let port = uri.port_u16().unwrap_or(if scheme == "http" { 80 } else { 443 });
                Some(Rule { host: uri.host()?.to_ascii_lowercase(), scheme: Some(scheme), port: Some(port) })
            })
            .collect();
        AllowedHosts { rules }
    }

    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        self.rules.iter().any(|r| {
            r.scheme.as_deref().is_none_or(|s| s == scheme)
                && r.port.is_none_or(|p| p == port)
                && match r.host.strip_prefix("*.") {
                    Some(suffix) => host.ends_with(&format!(".{suffix}")),
                    None => r.host == host,
                }
        })
    }
}

/// A header the host attaches to every request to one host.
#[derive(Debug, Clone)]
pub struct SecretHeader {
    host: String,
    name: http::HeaderName,
    value: http::HeaderValue,
}

impl SecretHeader {
    pub fn new(host: &str, name: &str, value: &str) -> Result<Self, String> {
        let name = http::HeaderName::try_from(name).map_err(|e| format!("outbound header name `{name}`: {e}"))?;
        let mut value =
            http::HeaderValue::try_from(value).map_err(|e| format!("outbound header `{name}` value: {e}"))?;
        value.set_sensitive(true);
        Ok(SecretHeader { host: host.to_ascii_lowercase(), name, value })
    }
}

/// The header that lets a receiver drop a request it has seen.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The `wasi:http` hooks of one store: the allow-list check, the host's
/// secret headers, then the default sender.
pub struct OutboundHttp {
    allowed: Arc<AllowedHosts>,
    /// The hosts of the step's plugins.
    plugins: AllowedHosts,
    secrets: Arc<[SecretHeader]>,
    component: String,
    log: Option<Arc<ImportLog>>,
    /// `<execution>:<step>`: each request gets `Idempotency-Key: <it>:<n>`
    /// (n counts the store's requests), so a step that runs again (a retry,
    /// a resumed run) sends the same keys and a receiver can drop duplicates.
    idempotency_prefix: Option<String>,
    sent: u32,
}

impl OutboundHttp {
    /// Keys every request of the store by `prefix` (a step's `<execution>:<step>`).
    pub fn with_idempotency_keys(mut self, prefix: Option<String>) -> Self {
        self.idempotency_prefix = prefix;
        self
    }

    /// The next request's key, unless the request carries its own.
    fn idempotency_key(&mut self, headers: &http::HeaderMap) -> Option<http::HeaderValue> {
        let prefix = self.idempotency_prefix.as_ref()?;
        self.sent += 1;
        if headers.contains_key(IDEMPOTENCY_KEY) {
            return None;
        }
        http::HeaderValue::from_str(&format!("{prefix}:{}", self.sent)).ok()
    }

    pub fn new(
        component: impl Into<String>,
        allowed: Arc<AllowedHosts>,
        plugins: AllowedHosts,
        secrets: Arc<[SecretHeader]>,
    ) -> Self {
        OutboundHttp {
            allowed,
            plugins,
            secrets,
            component: component.into(),
            log: None,
            idempotency_prefix: None,
            sent: 0,
        }
    }
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
)>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn std::future::Future<Output = SendResult> + Send> {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_string();
        let host = uri.host().unwrap_or("").to_string();
        let port = uri.port_u16().unwrap_or(if scheme == "http" { 80 } else { 443 });
        let denied = if !self.allowed.allows(&scheme, &host, port) {
            Some("host not allowed")
        } else if !self.plugins.allows(&scheme, &host, port) {
            Some("not a plugin of the step")
        } else {
            None
        };
        let (method, url) = (request.method().to_string(), uri.to_string());
        ImportLog::record(&self.log, || ImportCall::Http { method, url, denied: denied.map(String::from) });
        if let Some(reason) = denied {
            tracing::warn!(component = %self.component, %scheme, %host, port, "outbound request denied: {reason}");
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        for secret in self.secrets.iter().filter(|s| s.host == host.to_ascii_lowercase()) {
            request.headers_mut().insert(secret.name.clone(), secret.value.clone());
        }
        if let Some(key) = self.idempotency_key(request.headers()) {
            request.headers_mut().insert(IDEMPOTENCY_KEY, key);
        }
        let default: &mut dyn WasiHttpHooks = wasmtime_wasi_http::default_hooks();
        default.send_request(request, options, fut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(r: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&r.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn requests_of_a_step_get_stable_keys_unless_they_bring_their_own() {
        let mut hooks = OutboundHttp::new("send", Arc::default(), AllowedHosts::default(), Arc::from(vec![]))
            .with_idempotency_keys(Some("exec-1:notify".into()));
        let empty = http::HeaderMap::new();
        assert_eq!(hooks.idempotency_key(&empty).unwrap(), "exec-1:notify:1");
        let mut own = http::HeaderMap::new();
        own.insert(IDEMPOTENCY_KEY, http::HeaderValue::from_static("theirs"));
        assert_eq!(hooks.idempotency_key(&own), None, "the handler's own key is kept");
        assert_eq!(hooks.idempotency_key(&empty).unwrap(), "exec-1:notify:3", "counted in request order");
        let mut probe = OutboundHttp::new("send", Arc::default(), AllowedHosts::default(), Arc::from(vec![]));
        assert_eq!(probe.idempotency_key(&empty), None, "no step, no key");
    }

    #[test]
    fn deny_by_default() {
        assert!(!AllowedHosts::default().allows("https", "example.com", 443));
    }

    #[test]
    fn exact_wildcard_scheme_and_port_rules() {
        let allowed = rules(&["https://hooks.slack.com", "*.example.org", "localhost:8080"]);
        assert!(allowed.allows("https", "hooks.slack.com", 443));
        assert!(!allowed.allows("http", "hooks.slack.com", 80));
        assert!(allowed.allows("http", "api.example.org", 80));
        assert!(!allowed.allows("https", "example.org", 443), "the wildcard needs a subdomain");
        assert!(!allowed.allows("https", "evilexample.org", 443));
        assert!(allowed.allows("http", "localhost", 8080));
        assert!(!allowed.allows("http", "localhost", 8081));
    }

    #[test]
    fn plugin_urls_allow_exactly_their_origin() {
        let hosts = AllowedHosts::of_urls(&[
            "https://hooks.slack.com/services/x".into(),
            "http://127.0.0.1:9300/".into(),
            "nope".into(),
        ]);
        assert!(hosts.allows("https", "hooks.slack.com", 443));
        assert!(!hosts.allows("http", "hooks.slack.com", 80));
        assert!(hosts.allows("http", "127.0.0.1", 9300));
        assert!(!hosts.allows("http", "127.0.0.1", 9301));
    }

    #[test]
    fn malformed_rules_are_named() {
        let err = AllowedHosts::parse(&["ftp://x".to_string()]).unwrap_err();
        assert!(err.contains("`ftp://x`"), "{err}");
        let err = AllowedHosts::parse(&["a.*.com".to_string()]).unwrap_err();
        assert!(err.contains("`a.*.com`"), "{err}");
    }
}
