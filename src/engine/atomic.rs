//! One operation, one write transaction: the state an operation checks is read inside the
//! transaction that writes (SPEC: "check state inside the write transaction"), so two processes
//! answering the same request, spending the same allowance or deleting what another writes to
//! cannot both pass their checks.

use super::Engine;
use crate::error::Result;

impl Engine {
    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction, taken before `f` reads anything:
    /// committed when `f` succeeds, rolled back when it fails (so only what happened is kept and
    /// audited). Nested calls join the outer transaction; the `store::write_tx` calls inside
    /// `f` join it too.
    pub fn atomic<T>(&mut self, f: impl FnOnce(&mut Engine) -> Result<T>) -> Result<T> {
        if self.in_atomic {
            return f(self);
        }
        if !self.conn.is_autocommit() {
            // Left open by an operation that panicked: nothing of it is kept.
            self.conn.execute_batch("ROLLBACK")?;
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.in_atomic = true;
        let r = f(self);
        self.in_atomic = false;
        match r {
            Ok(v) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(v),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    Err(e.into())
                }
            },
            Err(e) => {
                if !self.conn.is_autocommit() {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                Err(e)
            }
        }
    }
}
