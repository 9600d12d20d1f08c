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

use crate::capabilities::audit::AuditGrant;
use crate::capabilities::database::Access;
use crate::capabilities::llm::LlmGrant;
use crate::capabilities::outbound_http::{GrantError, HeaderFromEnv, OutboundHttpGrant};
use crate::capabilities::settings::SettingsGrant;
use crate::components::limits::{HandlerLimits, LimitOverrides, MAX_MEMORY_MB};
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

/// The `[capabilities]` table: one table in the file, each key read by the
/// capability it grants something to (see [`Manifest::grants`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// `outbound_http`: hosts the handler may reach.
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// `outbound_http`: secret headers the host attaches.
    #[serde(default)]
    pub outbound_headers: Vec<HeaderFromEnv>,
    /// `database`: access to its own database.
    #[serde(default = "no_access")]
    pub database: Access,
    /// `llm`: models the handler may name besides its step's routed model.
    #[serde(default)]
    pub allowed_models: Vec<String>,
    /// `settings`: settings it may read: keys, or prefixes ending in `*`.
    #[serde(default)]
    pub settings: Vec<String>,
    /// `audit`: whether it may emit its own audit events.
    #[serde(default)]
    pub audit: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            allowed_outbound_hosts: vec![],
            outbound_headers: vec![],
            database: Access::None,
            allowed_models: vec![],
            settings: vec![],
            audit: false,
        }
    }
}

fn no_access() -> Access {
    Access::None
}

/// What a manifest grants, resolved and checked: each capability's grant,
/// and the limits.
#[derive(Debug, Clone)]
pub struct Grants {
    pub llm: LlmGrant,
    pub audit: AuditGrant,
    pub settings: SettingsGrant,
    pub database: Access,
    pub outbound_http: OutboundHttpGrant,
    pub limits: HandlerLimits,
}

impl Grants {
    /// Nothing granted, under `limits`.
    pub fn none(limits: HandlerLimits) -> Self {
        Grants {
            llm: LlmGrant::default(),
            audit: AuditGrant::None,
            settings: SettingsGrant::default(),
            database: Access::None,
            outbound_http: OutboundHttpGrant::default(),
            limits,
        }
    }
}

/// Why a manifest is refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    /// Not TOML, or not this schema (an unknown key, a wrong type).
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("[limits] memory_mb = {0} is above the host's {MAX_MEMORY_MB} MiB per memory")]
    MemoryAboveCap(u64),
    #[error("manifest intents {declared:?} differ from the component's info() intents {declared_by_component:?}")]
    IntentsDiffer { declared: Vec<String>, declared_by_component: Vec<String> },
    #[error("manifest version `{declared}` differs from the component's info() version `{declared_by_component}`")]
    VersionDiffers { declared: String, declared_by_component: String },
    #[error(transparent)]
    OutboundHttp(#[from] GrantError),
}

/// The manifest path of a component file.
pub fn path_for(component: &Path) -> PathBuf {
    component.with_extension("toml")
}

impl Manifest {
    /// Reads the manifest beside `component`; none means the defaults.
    pub fn load(component: &Path) -> Result<Option<Manifest>, ManifestError> {
        let path = path_for(component);
        if !path.exists() {
            return Ok(None);
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(cause) => return Err(ManifestError::Read { path, cause }),
        };
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| ManifestError::Parse { path, message: e.to_string().trim_end().to_string() })
    }

    /// Checks the manifest against what the component declares and resolves its grants.
    pub fn grants(&self, defaults: HandlerLimits, intents: &[String], version: &str) -> Result<Grants, ManifestError> {
        if let Some(mb) = self.limits.memory_mb.filter(|mb| *mb > MAX_MEMORY_MB) {
            return Err(ManifestError::MemoryAboveCap(mb));
        }
        if let Some(declared) = &self.handler.intents {
            let (mut a, mut b) = (declared.clone(), intents.to_vec());
            a.sort();
            b.sort();
            if a != b {
                let declared_by_component = intents.to_vec();
                return Err(ManifestError::IntentsDiffer { declared: declared.clone(), declared_by_component });
            }
        }
        if let Some(declared) = &self.handler.version
            && declared != version
        {
            let (declared, declared_by_component) = (declared.clone(), version.to_string());
            return Err(ManifestError::VersionDiffers { declared, declared_by_component });
        }
        let caps = &self.capabilities;
        Ok(Grants {
            llm: LlmGrant { allowed_models: caps.allowed_models.clone() },
            audit: AuditGrant::handler(caps.audit),
            settings: SettingsGrant::Keys(caps.settings.clone()),
            database: caps.database,
            outbound_http: OutboundHttpGrant::resolve(&caps.allowed_outbound_hosts, &caps.outbound_headers)?,
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
        assert!(grants.outbound_http.allowed_hosts.allows("https", "hooks.slack.com", 443));
        assert_eq!(grants.llm.allowed_models, vec!["claude-haiku-4-5".to_string()]);
        assert!(matches!(grants.settings, SettingsGrant::Keys(keys) if keys == ["send_*"]));
        assert_eq!(grants.audit, AuditGrant::Handler);
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
        assert!(!grants.outbound_http.allowed_hosts.allows("https", "example.com", 443));
        assert_eq!(grants.database, Access::None);
        assert!(grants.outbound_http.secret_headers.is_empty());
    }
}
