//! Firing a point outside the guarded runner, and reading what its hooks
//! decided.
//!
//! The guarded runner honours every action around an operation. Many points
//! are not around an operation but at a moment of one (a state write, a
//! session checkpoint, an event emit, a breaker opening): the code there
//! fires the point with [`HookExecutor::fire`] and honours the actions that
//! mean something at that moment, which it documents.

use llmspell_core::{ComponentId, Error, ExecutionContext, Result};
use serde_json::Value;

use crate::{Decision, HookContext, HookExecutor, HookPoint, HookResult};

/// What the hooks of a point fired with [`HookExecutor::fire`] decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// The point fired.
    pub point: HookPoint,
    /// The context's data after every `Modified` (as given when no hook
    /// changed it).
    pub data: Value,
    /// Whether a hook's `Modified` changed the data.
    pub modified: bool,
    /// How many hooks ran.
    pub ran: u32,
    decision: Option<Decision>,
}

static CONTINUE: HookResult = HookResult::Continue;

impl Fired {
    /// The first decisive result, or `Continue` when no hook decided.
    #[inline]
    pub fn result(&self) -> &HookResult {
        self.decision.as_ref().map_or(&CONTINUE, |d| &d.result)
    }

    /// The decision and the hook that made it, if one did.
    #[inline]
    pub fn decision(&self) -> Option<&Decision> {
        self.decision.as_ref()
    }

    /// The name of the hook that decided, if one did.
    #[inline]
    pub fn decided_by(&self) -> Option<&str> {
        self.decision.as_ref().map(|d| d.hook.as_str())
    }

    /// The value of a `Replace` result.
    pub fn replacement(&self) -> Option<&Value> {
        match self.result() {
            HookResult::Replace(v) => Some(v),
            _ => None,
        }
    }

    /// The data a caller should use: a `Replace` value, else the data after
    /// every `Modified`.
    pub fn into_data(self) -> Value {
        match self.decision {
            Some(Decision {
                result: HookResult::Replace(v),
                ..
            }) => v,
            _ => self.data,
        }
    }

    /// Turns a `Cancel` into the error the caller gets.
    ///
    /// # Errors
    /// `Cancelled { hook, reason }` when a hook cancelled.
    pub fn cancelled(&self) -> Result<()> {
        match &self.decision {
            Some(Decision {
                result: HookResult::Cancel(reason),
                hook,
            }) => Err(Error::Cancelled {
                hook: hook.clone(),
                reason: reason.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Logs a decisive result the firing code does not honour at this point;
    /// `honoured` says what does (`"only cancel applies"`).
    pub fn ignore(&self, honoured: &str) {
        if let Some(d) = &self.decision {
            tracing::warn!(point = %self.point, hook = %d.hook, action = %d.result.action(),
                "result not honoured at this point ({honoured})");
        }
    }
}

impl HookExecutor {
    /// Runs the hooks of `ctx.point` on `ctx` and hands back what they
    /// decided, for code that fires a point outside the guarded runner.
    /// Breakers, timeouts and fail modes apply as for every firing.
    ///
    /// # Errors
    /// `HookFailed` when a fail-closed hook cannot run. A `Cancel` is not an
    /// error here: the caller decides what it means ([`Fired::cancelled`]).
    ///
    /// ```
    /// use llmspell_core::{ComponentId, ComponentType};
    /// use llmspell_hooks::{HookContext, HookExecutor, HookPoint, HookRegistry, HookResult, sync_hook_fn};
    /// use serde_json::json;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let registry = HookRegistry::new();
    /// let _h = registry.register(HookPoint::SessionCheckpoint, sync_hook_fn(|_| {
    ///     Ok(HookResult::Cancel("read-only session".into()))
    /// }));
    /// let executor = HookExecutor::new(registry);
    /// let fired = executor
    ///     .fire(HookContext::new(HookPoint::SessionCheckpoint, ComponentId::new(ComponentType::System, "session"), json!({})))
    ///     .await?;
    /// assert!(fired.cancelled().unwrap_err().to_string().contains("read-only session"));
    /// # Ok::<(), llmspell_core::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn fire(&self, mut ctx: HookContext) -> Result<Fired> {
        let outcome = self.execute_point(&mut ctx).await?;
        let modified = outcome.modified;
        let ran = outcome.ran;
        Ok(Fired {
            point: ctx.point,
            data: ctx.data,
            modified,
            ran,
            decision: outcome.into_decision(),
        })
    }

    /// Fires `point` at a moment of an operation of `component` running
    /// under `exec`, when the point has hooks (`None` when it has none: one
    /// atomic load, and `data` is never built). The context carries the
    /// operation's correlation id, parent, language, attempt and metadata,
    /// plus `metadata` given here. The context (and `data`) is built when
    /// this is called, not when the future is first polled.
    ///
    /// This is the one way code fires an auxiliary point: a `Cancel` is the
    /// caller's error; `Modified` data is in [`Fired::data`]; the caller
    /// honours what else the point documents and passes the rest to
    /// [`Fired::ignore`].
    ///
    /// # Errors
    /// `Cancelled { hook, reason }` when a hook cancelled; `HookFailed` when
    /// a fail-closed hook cannot run.
    pub fn fire_at<'a>(
        &'a self,
        point: HookPoint,
        component: &ComponentId,
        exec: &ExecutionContext,
        metadata: &[(&str, &str)],
        data: impl FnOnce() -> Value,
    ) -> impl Future<Output = Result<Option<Fired>>> + Send + 'a {
        // The firing is built here, boxed, only when the point has hooks:
        // these points are rarely hooked, and every future that awaits this
        // one stays a pointer wide instead of carrying a firing's state.
        let firing = self.registry().has_hooks(&point).then(|| {
            let mut ctx = HookContext::for_operation(point, component.clone(), exec, data());
            for (k, v) in metadata {
                ctx.metadata.insert((*k).to_owned(), (*v).to_owned());
            }
            Box::pin(self.fire(ctx))
        });
        async move {
            let Some(firing) = firing else {
                return Ok(None);
            };
            let fired = firing.await?;
            fired.cancelled()?;
            Ok(Some(fired))
        }
    }
}
