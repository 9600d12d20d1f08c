//! One vocabulary for what happens to a step, from the guest to the
//! database: the typed outcome the runner returns per step, the usage row it
//! becomes, and the audit events the host writes itself. Reports, rows,
//! audit payloads and metric labels are all made from these types, so no
//! layer parses another's prose back into facts.

pub mod events;
pub mod failures;
pub mod outcome;
pub mod usage;

pub use events::{HostEvent, Severity};
pub use failures::{FailureKind, FallbackKind, FallbackReason, SkipReason, StepFailure};
pub use outcome::{Ran, StepOutcome};
pub use usage::{ModelInfo, UsagePath};
