//! `pilot report`: orchestrated against normal runs over a window.

use crate::cli::args::{Cli, ReportArgs};
use crate::cli::output::emit;
use crate::cli::{print, setup};
use anyhow::Result;
use host_runner::cohort_report::Report;

pub fn run(cli: &Cli, args: &ReportArgs) -> Result<()> {
    let mut rows = setup::open_db(cli)?.cohort_rows(args.since)?;
    if args.percentage_rollout {
        rows = rows.percentage_rollout_only();
    }
    let report = Report { percentage_rollout_only: args.percentage_rollout, ..Report::of(&rows, args.since.as_secs()) };
    emit(args.json, &report, || print::report::report(&report))
}
