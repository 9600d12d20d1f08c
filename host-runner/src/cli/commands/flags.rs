//! `pilot flags list|set`: the settings in `system_settings_config`.

use crate::cli::args::Cli;
use crate::cli::output::emit;
use crate::cli::{print, setup};
use anyhow::Result;

pub fn list(cli: &Cli, json: bool) -> Result<()> {
    let rows = setup::open_db(cli)?.list_settings("")?;
    emit(json, &rows, || print::flags::settings(&rows))
}

pub fn set(cli: &Cli, key: &str, value: &str) -> Result<()> {
    setup::open_db(cli)?.set_setting(key, value)?;
    println!("{key} = {value}");
    Ok(())
}
