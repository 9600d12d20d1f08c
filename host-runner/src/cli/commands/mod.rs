//! One module per `pilot` command: what it does, from arguments to output.

pub mod agents;
pub mod audit;
pub mod bench;
pub mod eval;
pub mod flags;
pub mod handlers;
pub mod report;
pub mod run;
pub mod runs;
pub mod serve;
