//! `pilot report`.

use super::table;
use host_runner::cohort_report::Report;
use host_runner::cohort_report::table::{HEADERS, sections};
use host_runner::cohort_report::window;

pub fn report(r: &Report) {
    println!(
        "orchestrated vs. normal runs started in the last {}{}",
        window::name(r.window_seconds),
        if r.percentage_rollout_only {
            ", only those a percentage rollout decided (percent / outside_percent)"
        } else {
            ""
        }
    );
    if r.runs_without_cohort > 0 {
        println!(
            "({} finished runs in the window have no cohort: started before cohorts were recorded, or ended before \
             their flags were decided)",
            r.runs_without_cohort
        );
    }
    println!(
        "a saving is worth acting on from {} runs and {} workflows per cohort (a percentage buckets whole \
         workflows); ± and [low, high] are 95% intervals\n",
        r.min_runs, r.min_workflows
    );
    for (title, lines) in sections(r) {
        println!("{title}:");
        let rows: Vec<Vec<String>> = lines.into_iter().map(|l| l.cells.to_vec()).collect();
        table(&HEADERS, &rows);
        println!();
    }
}
