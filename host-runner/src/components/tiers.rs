//! Which code a handler runs: Cranelift's optimized code, kept on disk once
//! compiled (`compiled`), or, while that is being compiled, Winch's baseline
//! code. Compiling the 18.5 MB Python handler takes Cranelift about 5 s and
//! Winch about 1 s, so a host that serves (`pilot serve`) makes a component
//! it has no kept code for active on baseline code and swaps Cranelift's in
//! when a background thread has it. One-shot commands (`pilot run`, `eval`,
//! `bench`) compile optimized code at once: it is kept for the next run.

use crate::bindings::handler::IntentHandlerPre;
use crate::components::compiled::CompiledStore;
use crate::components::engine::new_baseline_engine;
use crate::components::shared::handler_linker;
use crate::components::state::HandlerState;
use anyhow::{Context, Result};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

/// The compiler a handler's running code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeTier {
    /// Winch: compiled fast, runs slower; replaced once Cranelift's code is ready.
    Baseline,
    /// Cranelift.
    Optimized,
}

impl CodeTier {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeTier::Baseline => "baseline",
            CodeTier::Optimized => "optimized",
        }
    }
}

/// An engine and the `intent-handler` linker on it.
#[derive(Clone)]
pub struct Tier {
    pub engine: Engine,
    pub linker: Linker<HandlerState>,
}

impl Tier {
    pub fn new(engine: Engine) -> Result<Tier> {
        Ok(Tier { linker: handler_linker(&engine)?, engine })
    }

    /// Links `component` and checks that it exports the `handler` interface.
    pub fn link(&self, component: &Component) -> Result<IntentHandlerPre<HandlerState>> {
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("imports something the host does not provide")?;
        IntentHandlerPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("does not export the `handler` interface of the `intent-handler` world")
    }
}

/// The host's compilers for handlers and where their optimized code is kept.
#[derive(Clone)]
pub struct HandlerCompilers {
    pub optimized: Tier,
    /// Present when the host serves baseline code while optimizing.
    pub baseline: Option<Tier>,
    pub compiled: CompiledStore,
}

/// A handler's linked code and what compiled it.
pub struct Linked {
    pub pre: IntentHandlerPre<HandlerState>,
    pub tier: CodeTier,
}

impl HandlerCompilers {
    pub fn new(optimized: Engine, compiled: CompiledStore) -> Result<HandlerCompilers> {
        Ok(HandlerCompilers { optimized: Tier::new(optimized)?, baseline: None, compiled })
    }

    /// Adds the Winch tier (`PILOT_BASELINE=0` leaves it out, to compare).
    pub fn with_baseline(mut self) -> Result<HandlerCompilers> {
        if std::env::var("PILOT_BASELINE").is_ok_and(|v| v == "0") {
            return Ok(self);
        }
        self.baseline = Some(Tier::new(new_baseline_engine()?)?);
        Ok(self)
    }

    /// Compiles and links `bytes` (blocking): kept optimized code when there
    /// is some, else baseline code when this host has the tier, else
    /// optimized code compiled now.
    pub fn compile(&self, bytes: &[u8]) -> Result<Linked> {
        if let Some(component) = self.compiled.lookup(&self.optimized.engine, bytes) {
            return Ok(Linked { pre: self.optimized.link(&component)?, tier: CodeTier::Optimized });
        }
        if let Some(baseline) = &self.baseline {
            let component =
                Component::new(&baseline.engine, bytes).map_err(anyhow::Error::from).context("does not compile")?;
            return Ok(Linked { pre: baseline.link(&component)?, tier: CodeTier::Baseline });
        }
        let component = self.compiled.compile(&self.optimized.engine, bytes).context("does not compile")?;
        Ok(Linked { pre: self.optimized.link(&component)?, tier: CodeTier::Optimized })
    }

    /// Compiles `bytes` with Cranelift on a thread of its own, keeps the
    /// code, and hands the linked result to `ready`. A plain thread, not the
    /// runtime's blocking pool: a shutdown does not wait for it.
    pub fn optimize_in_background(
        &self,
        what: String,
        bytes: Arc<Vec<u8>>,
        ready: impl FnOnce(IntentHandlerPre<HandlerState>) + Send + 'static,
    ) {
        let (optimized, compiled) = (self.optimized.clone(), self.compiled.clone());
        let spawned = std::thread::Builder::new().name("pilot-optimize".into()).spawn(move || {
            let started = Instant::now();
            let linked = compiled.compile(&optimized.engine, &bytes).and_then(|c| optimized.link(&c));
            match linked {
                Ok(pre) => {
                    tracing::info!(handler = %what, compile_ms = started.elapsed().as_millis() as u64, "optimized code ready");
                    ready(pre);
                }
                // The same bytes passed Winch: keep serving its code.
                Err(e) => tracing::warn!(handler = %what, "optimizing failed; baseline code keeps serving: {e:#}"),
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("no thread to optimize a handler; baseline code keeps serving: {e}");
        }
    }
}
