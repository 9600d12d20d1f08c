//! Handler manifests: `NAME.toml` beside `NAME.wasm`, declaring what the
//! handler is and what it may do. Without a manifest a handler gets nothing
//! beyond its step's routed model: no outbound hosts, no database, no
//! settings, no audit events, the global limits.
//!
//! ```toml
//! [handler]
//! intents = ["send"]             # must equal what info() declares
//! version = "0.1.0"              # must equal info().version
//!
//! [capabilities]
//! allowed_outbound_hosts = ["https://hooks.slack.com", "*.example.org"]
//! database = "read-write"        # none | read | read-write (its own database only)
//! allowed_models = ["claude-haiku-4-5"]   # besides the step's routed model
//! settings = ["my_handler_*"]    # settings it may read (keys, or prefixes with `*`)
//! audit = true                   # may emit its own audit events
//!
//! [[capabilities.outbound_headers]]   # secrets the host attaches; never in guest memory
//! host = "hooks.slack.com"
//! name = "Authorization"
//! env = "SLACK_WEBHOOK_TOKEN"
//!
//! [limits]
//! fuel = 500000000
//! deadline_ms = 10000
//! memory_mb = 64
//! max_output_bytes = 262144
//! ```

use crate::capabilities::database::Access;
use crate::capabilities::outbound_http::{AllowedHosts, SecretHeader};
use crate::components::limits::{HandlerLimits, LimitOverrides, MAX_MEMORY_MB};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub handler: HandlerSection,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub limits: LimitOverrides,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerSection {
    pub intents: Option<Vec<String>>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default = "no_access")]
    pub database: Access,
    #[serde(default)]
    pub outbound_headers: Vec<HeaderFromEnv>,
    /// Models the handler may name besides its step's routed model.
    #[serde(default)]
    pub allowed_models: Vec<String>,
    /// Settings it may read: keys, or prefixes ending in `*`.
    #[serde(default)]
    pub settings: Vec<String>,
    /// Whether it may emit its own audit events.
    #[serde(default)]
    pub audit: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            allowed_outbound_hosts: vec![],
            database: Access::None,
            outbound_headers: vec![],
            allowed_models: vec![],
            settings: vec![],
            audit: false,
        }
    }
}

fn no_access() -> Access {
    Access::None
}

/// A header the host adds to requests to `host`, its value read from the
/// host's environment variable `env` at load time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderFromEnv {
    pub host: String,
    pub name: String,
    pub env: String,
}

/// What a manifest grants, resolved and checked.
#[derive(Debug, Clone)]
pub struct Grants {
    pub allowed_hosts: AllowedHosts,
    pub secret_headers: Vec<SecretHeader>,
    pub database: Access,
    pub allowed_models: Vec<String>,
    pub settings: Vec<String>,
    pub audit: bool,
    pub limits: HandlerLimits,
}

impl Grants {
    /// Nothing granted, under `limits`.
    pub fn none(limits: HandlerLimits) -> Self {
        Grants {
            allowed_hosts: AllowedHosts::default(),
            secret_headers: vec![],
            database: Access::None,
            allowed_models: vec![],
            settings: vec![],
            audit: false,
            limits,
        }
    }
}

/// The manifest path of a component file.
pub fn path_for(component: &Path) -> PathBuf {
    component.with_extension("toml")
}

impl Manifest {
    /// Reads the manifest beside `component`; none means the defaults.
    pub fn load(component: &Path) -> Result<Option<Manifest>> {
        let path = path_for(component);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).map(Some).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))
    }

    /// Checks the manifest against what the component declares and resolves its grants.
    pub fn grants(&self, defaults: HandlerLimits, intents: &[String], version: &str) -> Result<Grants> {
        if let Some(mb) = self.limits.memory_mb.filter(|mb| *mb > MAX_MEMORY_MB) {
            bail!("[limits] memory_mb = {mb} is above the host's {MAX_MEMORY_MB} MiB per memory");
        }
        if let Some(declared) = &self.handler.intents {
            let (mut a, mut b) = (declared.clone(), intents.to_vec());
            a.sort();
            b.sort();
            if a != b {
                bail!("manifest intents {declared:?} differ from the component's info() intents {intents:?}");
            }
        }
        if let Some(declared) = &self.handler.version
            && declared != version
        {
            bail!("manifest version `{declared}` differs from the component's info() version `{version}`");
        }
        let caps = &self.capabilities;
        let allowed_hosts = AllowedHosts::parse(&caps.allowed_outbound_hosts).map_err(anyhow::Error::msg)?;
        let secret_headers = caps
            .outbound_headers
            .iter()
            .map(|h| {
                let value = std::env::var(&h.env).with_context(|| {
                    format!("outbound header `{}` for {}: environment variable `{}` is not set", h.name, h.host, h.env)
                })?;
                SecretHeader::new(&h.host, &h.name, &value).map_err(anyhow::Error::msg)
            })
            .collect::<Result<_>>()?;
        Ok(Grants {
            allowed_hosts,
            secret_headers,
            database: caps.database,
            allowed_models: caps.allowed_models.clone(),
            settings: caps.settings.clone(),
            audit: caps.audit,
            limits: defaults.with(&self.limits),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Manifest {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_full_manifest_grants_what_it_declares() {
        let m = parse(
            r#"
            [handler]
            intents = ["send"]
            version = "0.1.0"
            [capabilities]
            allowed_outbound_hosts = ["https://hooks.slack.com"]
            database = "read"
            allowed_models = ["claude-haiku-4-5"]
            settings = ["send_*"]
            audit = true
            [limits]
            fuel = 1000
            memory_mb = 8
            "#,
        );
        let grants = m.grants(HandlerLimits::default(), &["send".into()], "0.1.0").unwrap();
        assert!(grants.allowed_hosts.allows("https", "hooks.slack.com", 443));
        assert_eq!(
            (grants.allowed_models, grants.settings, grants.audit),
            (vec!["claude-haiku-4-5".to_string()], vec!["send_*".to_string()], true)
        );
        assert_eq!(grants.database, Access::Read);
        assert_eq!((grants.limits.fuel, grants.limits.memory_bytes), (1000, 8 << 20));
    }

    #[test]
    fn mismatches_and_typos_are_errors() {
        let m = parse("[handler]\nintents = [\"send\"]\n");
        let err = m.grants(HandlerLimits::default(), &["notify".into()], "1").unwrap_err().to_string();
        assert!(err.contains("differ from the component's info() intents"), "{err}");
        assert!(toml::from_str::<Manifest>("[capabilities]\nallowed_hosts = []\n").is_err());
        assert!(toml::from_str::<Manifest>("[capabilities]\ndatabase = \"all\"\n").is_err());
    }

    #[test]
    fn secrets_come_from_the_host_environment() {
        let m = parse(
            "[[capabilities.outbound_headers]]\nhost = \"x.test\"\nname = \"Authorization\"\nenv = \"PILOT_TEST_UNSET_SECRET\"\n",
        );
        let err = m.grants(HandlerLimits::default(), &[], "1").unwrap_err().to_string();
        assert!(err.contains("`PILOT_TEST_UNSET_SECRET` is not set"), "{err}");
    }

    #[test]
    fn no_manifest_grants_nothing() {
        let grants = Manifest::default().grants(HandlerLimits::default(), &["x".into()], "1").unwrap();
        assert!(!grants.allowed_hosts.allows("https", "example.com", 443));
        assert_eq!(grants.database, Access::None);
        assert!(grants.secret_headers.is_empty());
    }
}
