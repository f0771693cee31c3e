//! The session: one runtime's life, with a state scripts keep across runs.
//!
//! A runtime always has a session. Unnamed, its state lives in memory and
//! ends with the process. Named (`llmspell run --session NAME`), its state
//! is restored from storage when the runtime starts and saved there at
//! every checkpoint and when the runtime shuts down.
//!
//! The points it fires, in order:
//! - start: `SystemStartup`, then for a named session with saved state
//!   `StateMigration` (saved with an older state version) and
//!   `SessionRestore`, then `SessionStart`;
//! - `SessionCheckpoint` at each save (`State.save()`,
//!   [`crate::ScriptRuntime::checkpoint`], shutdown);
//! - shutdown: `SessionEnd`, the final checkpoint, `SystemShutdown`.
//!
//! What each action does at each point is in the hooks guide.

use std::sync::Arc;
use std::time::Instant;

use llmspell_core::{ComponentId, ComponentType, Error, ExecutionContext, Language, Result};
use llmspell_hooks::{Fired, HookContext, HookExecutor, HookPoint, HookResult};
use llmspell_storage::StorageBackend;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The longest session name.
const MAX_NAME: usize = 128;

/// How a named session's state is stored (`session/<name>`).
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    /// The state version of the scripts that saved it.
    version: u32,
    /// When it was saved (RFC 3339).
    saved_at: String,
    /// The values.
    state: Map<String, Value>,
}

/// Checks a session name: 1 to 128 letters, digits, `_`, `-` or `.`.
///
/// # Errors
/// `InvalidInput` naming `session` and what is valid.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "session",
            format!(
                "{name:?} is not a session name: use 1 to {MAX_NAME} letters, digits, '_', '-' or '.'"
            ),
        ))
    }
}

/// One runtime's session.
pub(crate) struct Session {
    name: Option<String>,
    version: u32,
    state: Mutex<Map<String, Value>>,
    storage: Arc<dyn StorageBackend>,
    started: Mutex<Option<Instant>>,
    executor: HookExecutor,
}

impl Session {
    pub(crate) fn new(
        name: Option<String>,
        version: u32,
        storage: Arc<dyn StorageBackend>,
        executor: HookExecutor,
    ) -> Self {
        Self {
            name,
            version,
            state: Mutex::new(Map::new()),
            storage,
            started: Mutex::new(None),
            executor,
        }
    }

    /// The session's name, if it has one.
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn key(name: &str) -> String {
        format!("session/{name}")
    }

    fn context(&self, point: HookPoint, component: &str, data: Value) -> HookContext {
        HookContext::for_operation(
            point,
            ComponentId::new(ComponentType::System, component),
            &ExecutionContext::new(Language::Native),
            data,
        )
    }

    async fn fire(&self, point: HookPoint, component: &str, data: Value) -> Result<Fired> {
        self.executor
            .fire(self.context(point, component, data))
            .await
    }

    // ---- script-facing state ------------------------------------------------

    /// `State.get(key)`.
    pub(crate) fn get(&self, key: &str) -> Value {
        self.state.lock().get(key).cloned().unwrap_or(Value::Null)
    }

    /// `State.set(key, value)`; `null` removes the key.
    pub(crate) fn set(&self, key: &str, value: Value) {
        let mut state = self.state.lock();
        if value.is_null() {
            state.shift_remove(key);
        } else {
            state.insert(key.to_owned(), value);
        }
    }

    /// `State.delete(key)`: whether the key was there.
    pub(crate) fn delete(&self, key: &str) -> bool {
        self.state.lock().shift_remove(key).is_some()
    }

    /// `State.keys()`, in insertion order.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.state.lock().keys().cloned().collect()
    }

    /// A copy of the whole state.
    pub(crate) fn snapshot(&self) -> Map<String, Value> {
        self.state.lock().clone()
    }

    // ---- lifecycle ------------------------------------------------------------

    /// Starts the session: `SystemStartup`, the restore of a named session's
    /// saved state (`StateMigration`, `SessionRestore`), `SessionStart`.
    ///
    /// # Errors
    /// `Cancelled` when a hook cancels any of these points; `HookFailed`
    /// when a fail-closed hook cannot run; a storage or decode error naming
    /// the session's key; `InvalidInput` for state saved by a newer version.
    pub(crate) async fn start(&self, storage_kind: &str) -> Result<()> {
        let startup = self
            .fire(
                HookPoint::SystemStartup,
                "runtime",
                json!({
                    "version": env!("CARGO_PKG_VERSION"),
                    "session": self.name,
                    "storage": storage_kind,
                    "pid": std::process::id(),
                }),
            )
            .await?;
        startup.cancelled()?;
        startup.ignore("only cancel applies");
        let restored = match &self.name {
            Some(name) => self.restore(name).await?,
            None => false,
        };
        let keys = self.keys();
        let fired = self
            .fire(
                HookPoint::SessionStart,
                "session",
                json!({ "session": self.name, "restored": restored, "keys": keys }),
            )
            .await?;
        fired.cancelled()?;
        fired.ignore("only cancel applies");
        *self.started.lock() = Some(Instant::now());
        Ok(())
    }

    /// Loads the saved state of `name`, if any, through `StateMigration`
    /// and `SessionRestore`; returns whether there was one.
    async fn restore(&self, name: &str) -> Result<bool> {
        let key = Self::key(name);
        let Some(bytes) = self.storage.get(&key).await.map_err(storage)? else {
            return Ok(false);
        };
        let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| Error::Storage {
            message: format!(
                "the saved state of session {name:?} at key {key:?} is unreadable: {e}"
            ),
            source: Some(llmspell_core::ErrorSource::new(e)),
        })?;
        let mut state = saved.state;
        if saved.version > self.version {
            return Err(Error::invalid_input(
                "state_version",
                format!(
                    "session {name:?} was saved with state version {} and this run expects {}; \
                     run with --state-version {} or later",
                    saved.version, self.version, saved.version
                ),
            ));
        }
        if saved.version < self.version {
            state = self.migrate(name, saved.version, state).await?;
        }
        let fired = self
            .fire(
                HookPoint::SessionRestore,
                "session",
                json!({
                    "session": name,
                    "version": self.version,
                    "saved_at": saved.saved_at,
                    "state": state,
                }),
            )
            .await?;
        fired.cancelled()?;
        let state = match (fired.result(), fired.modified) {
            (HookResult::Replace(v), _) => state_object(v.clone(), "a SessionRestore hook")?,
            (_, true) => state_object(fired.data["state"].clone(), "a SessionRestore hook")?,
            _ => {
                fired.ignore("modified, replace and cancel apply");
                state
            }
        };
        *self.state.lock() = state;
        Ok(true)
    }

    async fn migrate(
        &self,
        name: &str,
        from: u32,
        state: Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let point = HookPoint::StateMigration;
        if !self.executor.registry().has_hooks(&point) {
            tracing::warn!(
                session = name,
                from,
                to = self.version,
                "state saved by an older version is loaded as it is: no StateMigration hook"
            );
            return Ok(state);
        }
        let fired = self
            .fire(
                point,
                "session",
                json!({
                    "session": name,
                    "from_version": from,
                    "to_version": self.version,
                    "state": state,
                }),
            )
            .await?;
        fired.cancelled()?;
        match (fired.result(), fired.modified) {
            (HookResult::Replace(v), _) => state_object(v.clone(), "a StateMigration hook"),
            (_, true) => state_object(fired.data["state"].clone(), "a StateMigration hook"),
            _ => {
                fired.ignore("modified, replace and cancel apply");
                Ok(state)
            }
        }
    }

    /// Saves the state through `SessionCheckpoint`; `reason` is `"save"` or
    /// `"shutdown"`. Returns whether it was written.
    ///
    /// # Errors
    /// `InvalidInput` for an unnamed session; `Cancelled` when a hook
    /// cancels; storage errors.
    pub(crate) async fn checkpoint(&self, reason: &str) -> Result<()> {
        let Some(name) = &self.name else {
            return Err(Error::invalid_input(
                "session",
                "this session has no name, so its state is not kept; run with --session NAME",
            ));
        };
        let state = self.snapshot();
        let fired = self
            .fire(
                HookPoint::SessionCheckpoint,
                "session",
                json!({
                    "session": name,
                    "version": self.version,
                    "reason": reason,
                    "state": state,
                }),
            )
            .await?;
        fired.cancelled()?;
        let state = match (fired.result(), fired.modified) {
            (HookResult::Replace(v), _) => state_object(v.clone(), "a SessionCheckpoint hook")?,
            (_, true) => state_object(fired.data["state"].clone(), "a SessionCheckpoint hook")?,
            _ => {
                fired.ignore("modified, replace and cancel apply");
                state
            }
        };
        let saved = Saved {
            version: self.version,
            saved_at: llmspell_core::clock::now_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            state,
        };
        let bytes = serde_json::to_vec(&saved).map_err(|e| Error::Storage {
            message: format!("cannot encode the state of session {name:?}: {e}"),
            source: Some(llmspell_core::ErrorSource::new(e)),
        })?;
        let key = Self::key(name);
        self.storage.put(&key, bytes).await.map_err(storage)?;
        self.storage.flush().await.map_err(storage)
    }

    /// Ends the session: `SessionEnd`, the final checkpoint of a named
    /// session, `SystemShutdown`. Failures are logged: a shutdown goes on.
    pub(crate) async fn end(&self) {
        let Some(started) = self.started.lock().take() else {
            return;
        };
        let uptime_ms = started.elapsed().as_secs_f64() * 1000.0;
        let ended = self
            .fire(
                HookPoint::SessionEnd,
                "session",
                json!({ "session": self.name, "duration_ms": uptime_ms, "state": self.snapshot() }),
            )
            .await;
        let save = match ended {
            Ok(f) => match f.result() {
                HookResult::Cancel(reason) => {
                    tracing::info!(%reason, "the final checkpoint was cancelled by a SessionEnd hook");
                    false
                }
                _ => {
                    if f.modified
                        && let Ok(state) =
                            state_object(f.data["state"].clone(), "a SessionEnd hook")
                    {
                        *self.state.lock() = state;
                    }
                    f.ignore("modified and cancel apply");
                    true
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "a SessionEnd hook failed");
                true
            }
        };
        if save
            && self.name.is_some()
            && let Err(e) = self.checkpoint("shutdown").await
        {
            eprintln!("llmspell: the session state was not saved: {e}");
        }
        match self
            .fire(
                HookPoint::SystemShutdown,
                "runtime",
                json!({ "session": self.name, "uptime_ms": uptime_ms }),
            )
            .await
        {
            Ok(f) => f.ignore("SystemShutdown reports only"),
            Err(e) => tracing::warn!(error = %e, "a SystemShutdown hook failed"),
        }
    }
}

/// A hook's state value: an object, or a clear error.
fn state_object(value: Value, who: &str) -> Result<Map<String, Value>> {
    match value {
        Value::Object(o) => Ok(o),
        other => Err(Error::invalid_input(
            "state",
            format!("{who} returned {other} as the state; a state is an object of keys to values"),
        )),
    }
}

fn storage(e: llmspell_storage::Error) -> Error {
    Error::Storage {
        message: e.to_string(),
        source: None,
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}
