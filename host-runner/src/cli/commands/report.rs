//! `pilot report`: orchestrated against normal runs over a window.

use crate::cli::args::{Cli, ReportArgs};
use crate::cli::output::emit;
use crate::cli::{print, setup};
use anyhow::Result;
use host_runner::cohort_report::Report;

pub fn run(cli: &Cli, args: &ReportArgs) -> Result<()> {
    let rows = setup::open_db(cli)?.cohort_rows(args.since)?;
    let report = Report::selected(rows, args.since.as_secs(), args.percentage_rollout);
    emit(args.json, &report, || print::report::report(&report))
}
