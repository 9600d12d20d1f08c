//! `pilot flags list|set|unset`: the settings in `system_settings_config`,
//! and the scoped overrides of the orchestration flags (`orchestration::rollout`).

use crate::cli::args::{Cli, FlagScopeArgs};
use crate::cli::output::emit;
use crate::cli::{print, setup};
use anyhow::{Result, bail};
use host_runner::capabilities::settings::{Operator, change};
use host_runner::storage::settings::listing;
use orchestration::rollout::Scope;

pub fn list(cli: &Cli, json: bool) -> Result<()> {
    let rows = listing(setup::open_db(cli)?.list_settings("")?);
    emit(json, &rows, || print::flags::listing(&rows))
}

pub fn set(cli: &Cli, key: &str, value: &str, scope: &FlagScopeArgs) -> Result<()> {
    let (target, stored) = match (scope_of(scope), scope.percent.as_deref()) {
        (Some(Scope::Percent), Some(percent)) => {
            if percent.is_empty() {
                bail!("--percent needs a number from 0 to 100: `pilot flags set {key} true --percent 10`");
            }
            if value != "true" {
                bail!("a percentage turns `{key}` on for a share of workflows: set it to true, got `{value}`");
            }
            (Scope::Percent.key(key), percent.to_string())
        }
        (Some(s), _) => (s.key(key), value.to_string()),
        (None, _) => (key.to_string(), value.to_string()),
    };
    change(&setup::open_db(cli)?, &target, Some(&stored), Operator::Cli)?;
    println!("{target} = {stored}");
    Ok(())
}

pub fn unset(cli: &Cli, key: &str, scope: &FlagScopeArgs) -> Result<()> {
    if scope.percent.as_deref().is_some_and(|p| !p.is_empty()) {
        bail!("`unset --percent` takes no number: it removes the percentage rollout of `{key}`");
    }
    let target = scope_of(scope).map_or_else(|| key.to_string(), |s| s.key(key));
    if change(&setup::open_db(cli)?, &target, None, Operator::Cli)? {
        println!("{target} removed");
    } else {
        println!("{target} was not set");
    }
    Ok(())
}

/// The scope the arguments name; `None` for the global value.
fn scope_of(args: &FlagScopeArgs) -> Option<Scope> {
    match args {
        FlagScopeArgs { user: Some(id), .. } => Some(Scope::User(id.clone())),
        FlagScopeArgs { agent: Some(id), .. } => Some(Scope::Agent(id.clone())),
        FlagScopeArgs { agent_type: Some(t), .. } => Some(Scope::AgentType(t.clone())),
        FlagScopeArgs { percent: Some(_), .. } => Some(Scope::Percent),
        _ => None,
    }
}
