//! `pilot flags list|set`: the settings in `system_settings_config`.

use crate::cli::args::Cli;
use crate::cli::output::emit;
use crate::cli::print;
use anyhow::Result;
use host_runner::storage::Db;

pub fn list(cli: &Cli, json: bool) -> Result<()> {
    let rows = Db::open(&cli.db)?.list_settings("")?;
    emit(json, &rows, || print::flags::settings(&rows))
}

pub fn set(cli: &Cli, key: &str, value: &str) -> Result<()> {
    Db::open(&cli.db)?.set_setting(key, value)?;
    println!("{key} = {value}");
    Ok(())
}
