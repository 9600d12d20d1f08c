//! The one place a command's `--json` is honoured, so every command prints
//! its JSON alike: one pretty-printed document on stdout.

use anyhow::Result;
use serde::Serialize;

/// With `json`, prints `document`; otherwise runs `human`, which prints the
/// same facts for people (it may read more than `document` holds).
pub fn emit<T: Serialize + ?Sized>(json: bool, document: &T, human: impl FnOnce()) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(document)?);
    } else {
        human();
    }
    Ok(())
}
