//! Script functions an engine keeps for the runtime (hooks, subscription
//! callbacks, tool and agent handlers, workflow steps), and the
//! [`ScriptFunction`] handles the rest of the runtime calls them through.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use llmspell_core::Language;
use serde_json::Value;

use super::{CallArgs, CallbackId, Command, EngineHandle};

/// The functions an engine keeps, by id; `F` is the engine's own function
/// type. Lives on the engine's thread.
pub(crate) struct Functions<F> {
    /// Looked up on every call (foldhash: a fast hash for small keys).
    kept: RefCell<HashMap<CallbackId, F, foldhash::fast::RandomState>>,
    next: Cell<CallbackId>,
}

impl<F> Default for Functions<F> {
    fn default() -> Self {
        Self {
            kept: RefCell::new(HashMap::default()),
            next: Cell::new(1),
        }
    }
}

impl<F: Clone> Functions<F> {
    /// Keeps `f` for calls from the runtime and returns a `Send` handle to
    /// it; the last clone of the handle dropped releases it.
    pub(crate) fn keep(&self, engine: &EngineHandle, f: F) -> ScriptFunction {
        let id = self.next.get();
        self.next.set(id + 1);
        self.kept.borrow_mut().insert(id, f);
        ScriptFunction::new(engine.clone(), id)
    }

    /// The function kept under `id`, unless it was released.
    pub(crate) fn get(&self, id: CallbackId) -> Option<F> {
        self.kept.borrow().get(&id).cloned()
    }

    /// Forgets a kept function.
    pub(crate) fn release(&self, id: CallbackId) {
        self.kept.borrow_mut().remove(&id);
    }
}

/// A script function kept by an engine, callable from any thread. Dropping
/// the last clone releases the function in its engine.
#[derive(Clone)]
pub struct ScriptFunction {
    inner: Arc<FunctionInner>,
}

struct FunctionInner {
    engine: EngineHandle,
    id: CallbackId,
}

impl Drop for FunctionInner {
    fn drop(&mut self) {
        self.engine.send(Command::Release { id: self.id });
    }
}

impl ScriptFunction {
    pub(crate) fn new(engine: EngineHandle, id: CallbackId) -> Self {
        Self {
            inner: Arc::new(FunctionInner { engine, id }),
        }
    }

    /// The language the function is written in.
    pub fn language(&self) -> Language {
        self.inner.engine.language()
    }

    /// Calls the function with JSON arguments; the engine interrupts it once
    /// `deadline` has passed (even a busy loop).
    ///
    /// # Errors
    /// The script's error (kind `execution`), or an error saying the engine
    /// stopped.
    pub async fn call(
        &self,
        args: Vec<Value>,
        deadline: Option<Duration>,
    ) -> Result<Value, crate::HostError> {
        self.inner
            .engine
            .call(self.inner.id, CallArgs::Values(args), deadline)
            .await
    }

    /// Calls the function with prepared arguments (a hook context or an event).
    ///
    /// # Errors
    /// As [`call`](ScriptFunction::call).
    pub async fn call_with(
        &self,
        args: CallArgs<'_>,
        deadline: Option<Duration>,
    ) -> Result<Value, crate::HostError> {
        self.inner.engine.call(self.inner.id, args, deadline).await
    }
}

impl std::fmt::Debug for ScriptFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptFunction")
            .field("language", &self.inner.engine.language())
            .field("id", &self.inner.id)
            .finish()
    }
}
