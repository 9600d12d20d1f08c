//! Which code a handler runs: Cranelift's optimized code, kept on disk once
//! compiled (`compiled`), or, while that is being compiled, Winch's baseline
//! code. Compiling the 18.5 MB Python handler takes Cranelift about 5 s and
//! Winch about 1 s, so a host that serves (`pilot serve`) makes a component
//! it has no kept code for active on baseline code and swaps Cranelift's in
//! when a background thread has it. One-shot commands (`pilot run`, `eval`,
//! `bench`) compile optimized code at once: it is kept for the next run.

use crate::bindings::handler::IntentHandlerPre;
use crate::components::compiled::{CompiledStore, ComponentBytes};
use crate::components::engine::{EngineOptions, new_baseline_engine};
use crate::components::worlds::intent_handler::{self, HandlerState};
use crate::error::{Error, chain};
use anyhow::{Context, Result};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

/// Which code a handler runs: the compiler it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Winch: compiled fast, runs slower; replaced once Cranelift's code is ready.
    Baseline,
    /// Cranelift.
    Optimized,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Baseline => "baseline",
            Code::Optimized => "optimized",
        }
    }
}

/// Which code handlers are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodePolicy {
    /// Cranelift's, compiled before a handler is active (one-shot commands:
    /// the code is kept for the next run).
    #[default]
    Optimized,
    /// Kept optimized code when there is some, else Winch's at once and
    /// Cranelift's swapped in when ready (`pilot serve`, unless `PILOT_BASELINE=0`).
    BaselineFirst,
    /// Winch's only, never optimized: to measure what a step costs on
    /// baseline code (`pilot bench --baseline-code`), and to test that every
    /// limit holds on it.
    BaselineOnly,
}

/// A compiler: its engine and the `intent-handler` linker on it.
#[derive(Clone)]
pub struct Compiler {
    pub engine: Engine,
    pub linker: Linker<HandlerState>,
}

impl Compiler {
    pub fn new(engine: Engine) -> Result<Compiler, Error> {
        let linker = intent_handler::linker(&engine)
            .map_err(|e| Error::Linker { world: "intent-handler", cause: anyhow::Error::from(e).into() })?;
        Ok(Compiler { linker, engine })
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
    pub optimized: Compiler,
    /// Present unless the policy is [`CodePolicy::Optimized`].
    pub baseline: Option<Compiler>,
    pub compiled: CompiledStore,
    policy: CodePolicy,
}

/// A handler's linked code and what compiled it.
pub struct Linked {
    pub pre: IntentHandlerPre<HandlerState>,
    pub code: Code,
}

impl HandlerCompilers {
    /// Compilers giving handlers optimized code ([`CodePolicy::Optimized`]).
    pub fn new(optimized: Engine, compiled: CompiledStore) -> Result<HandlerCompilers, Error> {
        Ok(HandlerCompilers {
            optimized: Compiler::new(optimized)?,
            baseline: None,
            compiled,
            policy: CodePolicy::Optimized,
        })
    }

    /// Follows `policy`, adding the Winch compiler, on `engines`' options, when it needs one.
    pub fn with_policy(mut self, policy: CodePolicy, engines: &EngineOptions) -> Result<HandlerCompilers, Error> {
        self.baseline = match policy {
            CodePolicy::Optimized => None,
            CodePolicy::BaselineOnly => Some(Compiler::new(new_baseline_engine(engines)?)?),
            // Winch targets x86-64 only: elsewhere, serving waits for Cranelift.
            CodePolicy::BaselineFirst => match new_baseline_engine(engines).and_then(Compiler::new) {
                Ok(compiler) => Some(compiler),
                Err(e) => {
                    tracing::warn!("no baseline compiler, handlers wait for optimized code: {}", chain(&e));
                    self.policy = CodePolicy::Optimized;
                    return Ok(self);
                }
            },
        };
        self.policy = policy;
        Ok(self)
    }

    /// Whether a handler given baseline code gets optimized code later.
    pub fn optimizes_later(&self) -> bool {
        self.policy == CodePolicy::BaselineFirst
    }

    /// Compiles and links `bytes` (blocking), as the policy says: kept
    /// optimized code when there is some (unless baseline only), else
    /// baseline code when the policy has the baseline compiler, else optimized code
    /// compiled now.
    pub fn compile(&self, bytes: &ComponentBytes) -> Result<Linked> {
        if self.policy != CodePolicy::BaselineOnly
            && let Some(component) = self.compiled.lookup(&self.optimized.engine, bytes)
        {
            return Ok(Linked { pre: self.optimized.link(&component)?, code: Code::Optimized });
        }
        if let Some(baseline) = &self.baseline {
            match Component::new(&baseline.engine, bytes.bytes()) {
                Ok(component) => return Ok(Linked { pre: baseline.link(&component)?, code: Code::Baseline }),
                Err(e) if self.policy == CodePolicy::BaselineOnly => {
                    return Err(anyhow::Error::from(e).context("does not compile with the baseline compiler"));
                }
                // Winch lacks some WebAssembly features Cranelift has: this one waits for Cranelift.
                Err(e) => tracing::debug!("baseline compiler refused a component, compiling it optimized: {e:#}"),
            }
        }
        let component = self.compiled.compile(&self.optimized.engine, bytes).context("does not compile")?;
        Ok(Linked { pre: self.optimized.link(&component)?, code: Code::Optimized })
    }

    /// Compiles `bytes` with Cranelift on a thread of its own, keeps the
    /// code, and hands the linked result to `ready`, unless `wanted` says
    /// by then that this version no longer serves. A plain thread, not the
    /// runtime's blocking pool: a shutdown does not wait for it. One
    /// optimization runs at a time: Cranelift already compiles a
    /// component's functions in parallel.
    pub fn optimize_in_background(
        &self,
        what: String,
        bytes: Arc<ComponentBytes>,
        wanted: impl Fn() -> bool + Send + 'static,
        ready: impl FnOnce(IntentHandlerPre<HandlerState>) + Send + 'static,
    ) {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let (optimized, compiled) = (self.optimized.clone(), self.compiled.clone());
        let spawned = std::thread::Builder::new().name("pilot-optimize".into()).spawn(move || {
            let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !wanted() {
                tracing::debug!(handler = %what, "not optimized: this version no longer serves");
                return;
            }
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
