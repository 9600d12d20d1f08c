//! What failed in the host database, and where.

use crate::causes::Cause;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening, creating, migrating or seeding the database; the cause
    /// names the file or server (never a password).
    #[error(transparent)]
    Open(Cause),
    /// An operation on an open database failed.
    #[error("{operation} in {location}")]
    Failed {
        operation: String,
        location: String,
        #[source]
        cause: Cause,
    },
    /// A value refused before it is written: a setting's value that does not
    /// fit its type, or a key the catalogue does not know.
    #[error("{0}")]
    InvalidSetting(String),
    /// A known key missing from the database.
    #[error("setting `{key}` is missing from {location}")]
    MissingSetting { key: String, location: String },
    #[error("creation score of `{agent_id}` must be between 0 and 10, got {score}")]
    ScoreOutOfRange { agent_id: String, score: f32 },
}
