//! Human-readable output of the CLI, one module per command; `--json` goes
//! through [`crate::cli::output::emit`] instead.

pub mod agents;
pub mod audit;
pub mod bench;
pub mod eval;
pub mod flags;
pub mod handlers;
pub mod report;
pub mod run;
pub mod runs;

use host_runner::Host;

/// Which model provider answers, on stderr: stdout stays the command's output.
pub fn provider_note(host: &Host) {
    match host.provider_name() {
        "simulated" => eprintln!(
            "provider: simulated (offline, deterministic test double; not a model. Set ANTHROPIC_API_KEY to call \
             Anthropic, or OPENAI_API_KEY / OPENAI_BASE_URL for an OpenAI-compatible server)"
        ),
        name => eprintln!("provider: {name}"),
    }
}

/// Prints rows as aligned columns under a header.
fn table(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    line(widths.iter().map(|w| "-".repeat(*w)).collect());
    rows.iter().for_each(|r| line(r.clone()));
}
