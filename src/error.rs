//! The engine's error type. Every variant carries a sentence for a person (or a model):
//! what is wrong and what to do next. The MCP layer renders these as `isError` results.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// Something named by the caller does not exist (or is not visible to the acting user;
    /// the two are indistinguishable on purpose).
    #[error("{0}")]
    NotFound(String),
    /// The acting user lacks a role, permission or plan allowance.
    #[error("{0}")]
    Forbidden(String),
    /// The arguments are wrong (bad value, missing column, malformed file, …).
    #[error("{0}")]
    Invalid(String),
    /// The operation does not fit the current state (partnership not active, request already answered, …).
    #[error("{0}")]
    Conflict(String),
    /// Storage failed; not the caller's fault.
    #[error("{}", db_sentence(.0))]
    Db(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(String),
}

impl Error {
    /// A short machine-readable kind, used in JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "not_found",
            Error::Forbidden(_) => "forbidden",
            Error::Invalid(_) => "invalid",
            Error::Conflict(_) => "conflict",
            Error::Db(_) => "database",
            Error::Io(_) => "io",
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A storage failure as a sentence: what most likely happened and what to do. A constraint
/// failing means something the operation refers to changed at the same time (another process
/// deleted it); the raw SQLite text is for the log only.
fn db_sentence(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => "Something this change refers to was changed or deleted at the same time (for example by another session); nothing was changed. Look it up again and retry.".into(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => "The database is busy with another change; nothing was changed. Try again in a moment.".into(),
        Some(ErrorCode::DiskFull) => "The disk holding the database is full; nothing was changed. Free some space and retry.".into(),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => "partnermap cannot write its database file (read-only or permission denied); nothing was changed. Check the file's permissions.".into(),
        _ => format!("database error: {e}"),
    }
}

/// Shorthand constructors that keep call sites to one line.
pub fn not_found(msg: impl Into<String>) -> Error {
    Error::NotFound(msg.into())
}
pub fn forbidden(msg: impl Into<String>) -> Error {
    Error::Forbidden(msg.into())
}
pub fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}
pub fn conflict(msg: impl Into<String>) -> Error {
    Error::Conflict(msg.into())
}
