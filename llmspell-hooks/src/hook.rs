//! The hook contract and closure adapters.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use llmspell_core::Language;
use serde::{Deserialize, Serialize};

use crate::{ActionSet, HookContext, HookResult, Priority};

/// What a hook says about itself. Read once, at registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookMetadata {
    /// A name for listings, errors and events.
    pub name: String,
    /// What the hook does.
    pub description: Option<String>,
    /// When it runs relative to other hooks of its point.
    pub priority: Priority,
    /// The language it is written in.
    pub language: Language,
    /// Free-form labels for filtering.
    pub tags: Vec<String>,
    /// The hook's version.
    pub version: String,
    /// The actions the hook may return (default: all). Any other action is
    /// an invalid result, a failure of the hook. A point whose hooks cannot
    /// return `Retry` or `Redirect` runs its operation without keeping a
    /// copy of the input for them.
    #[serde(default)]
    pub returns: ActionSet,
}

impl Default for HookMetadata {
    fn default() -> Self {
        Self {
            name: "anonymous".to_owned(),
            description: None,
            priority: Priority::NORMAL,
            language: Language::Native,
            tags: Vec::new(),
            version: "0.1.0".to_owned(),
            returns: ActionSet::ALL,
        }
    }
}

impl HookMetadata {
    /// Metadata with a name and defaults for the rest.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Sets the priority.
    #[must_use]
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Adds a tag.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets the language.
    #[must_use]
    pub fn with_language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// Declares the actions the hook may return.
    #[must_use]
    pub fn with_returns(mut self, returns: impl Into<ActionSet>) -> Self {
        self.returns = returns.into();
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// Code that runs at a hook point and decides what happens there.
///
/// Implementers owe [`execute`](Hook::execute); the rest is defaulted.
/// `execute` may read and change the context and returns a [`HookResult`].
/// Returning an error is a hook *failure*: the executor counts it for the
/// hook's circuit breaker and applies the hook's fail mode (skip it, by
/// default, or cancel the operation). A panic is caught and treated the same.
/// [`should_run`](Hook::should_run) is asked first; `false` skips the hook
/// without counting a call.
///
/// ```
/// use llmspell_hooks::{Hook, HookContext, HookMetadata, HookResult};
/// use llmspell_core::async_trait;
///
/// struct DenyDeletes;
///
/// #[async_trait]
/// impl Hook for DenyDeletes {
///     async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
///         if ctx.data["operation"] == "delete" {
///             return Ok(HookResult::Cancel("deletes are disabled".into()));
///         }
///         Ok(HookResult::Continue)
///     }
///     fn metadata(&self) -> HookMetadata {
///         HookMetadata::named("deny-deletes")
///     }
/// }
/// ```
#[async_trait]
pub trait Hook: Send + Sync {
    /// Runs the hook.
    ///
    /// # Errors
    /// Any error counts as a hook failure (see the trait docs).
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult>;

    /// Name, priority, language, tags, version, description.
    fn metadata(&self) -> HookMetadata {
        HookMetadata::default()
    }

    /// Whether the hook applies to this context (default: always).
    fn should_run(&self, _ctx: &HookContext) -> bool {
        true
    }
}

#[async_trait]
impl<T: Hook + ?Sized> Hook for Arc<T> {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        (**self).execute(ctx).await
    }
    fn metadata(&self) -> HookMetadata {
        (**self).metadata()
    }
    fn should_run(&self, ctx: &HookContext) -> bool {
        (**self).should_run(ctx)
    }
}

#[async_trait]
impl<T: Hook + ?Sized> Hook for Box<T> {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        (**self).execute(ctx).await
    }
    fn metadata(&self) -> HookMetadata {
        (**self).metadata()
    }
    fn should_run(&self, ctx: &HookContext) -> bool {
        (**self).should_run(ctx)
    }
}

/// A hook made from an async closure; see [`hook_fn`].
pub struct FnHook<F> {
    f: F,
    metadata: HookMetadata,
}

/// A hook made from a synchronous closure; see [`sync_hook_fn`].
pub struct SyncFnHook<F> {
    f: F,
    metadata: HookMetadata,
}

/// Makes a hook from an async closure. The closure gets the context as a
/// shared, read-only `Arc<HookContext>` (async code cannot borrow it across
/// awaits): the data and metadata are moved into it, not copied, and move
/// back to the executor when the closure's future ends (each thread reuses
/// one `Arc`, so a loan allocates nothing). A closure that keeps the `Arc`
/// after its future ends leaves a copy behind instead.
/// The closure reports changes through its result (`Modified`); for hooks
/// that change the context in place without awaiting, use [`sync_hook_fn`].
///
/// ```
/// use llmspell_hooks::{hook_fn, HookResult};
/// let hook = hook_fn(|ctx| async move {
///     if ctx.data.get("secret").is_some() {
///         return Ok(HookResult::Cancel("secrets are not allowed".into()));
///     }
///     Ok(HookResult::Continue)
/// })
/// .named("no-secrets");
/// # let _ = hook;
/// ```
pub fn hook_fn<F, Fut>(f: F) -> FnHook<F>
where
    F: Fn(Arc<HookContext>) -> Fut + Send + Sync,
    Fut: Future<Output = llmspell_core::Result<HookResult>> + Send,
{
    FnHook {
        f,
        metadata: HookMetadata::default(),
    }
}

/// Makes a hook from a synchronous closure that may change the context in place.
///
/// ```
/// use llmspell_hooks::{sync_hook_fn, HookResult};
/// let hook = sync_hook_fn(|ctx| {
///     ctx.metadata.insert("seen".into(), "yes".into());
///     Ok(HookResult::Continue)
/// });
/// # let _ = hook;
/// ```
pub fn sync_hook_fn<F>(f: F) -> SyncFnHook<F>
where
    F: Fn(&mut HookContext) -> llmspell_core::Result<HookResult> + Send + Sync,
{
    SyncFnHook {
        f,
        metadata: HookMetadata::default(),
    }
}

macro_rules! builder_methods {
    ($ty:ident) => {
        impl<F> $ty<F> {
            /// Sets the name.
            #[must_use]
            pub fn named(mut self, name: impl Into<String>) -> Self {
                self.metadata.name = name.into();
                self
            }

            /// Sets the priority.
            #[must_use]
            pub fn with_priority(mut self, priority: Priority) -> Self {
                self.metadata.priority = priority;
                self
            }

            /// Declares the actions the closure may return (see
            /// [`HookMetadata::returns`]).
            #[must_use]
            pub fn returns(mut self, returns: impl Into<ActionSet>) -> Self {
                self.metadata.returns = returns.into();
                self
            }

            /// Replaces the metadata.
            #[must_use]
            pub fn with_metadata(mut self, metadata: HookMetadata) -> Self {
                self.metadata = metadata;
                self
            }
        }
    };
}

builder_methods!(FnHook);
builder_methods!(SyncFnHook);

#[async_trait]
impl<F, Fut> Hook for FnHook<F>
where
    F: Fn(Arc<HookContext>) -> Fut + Send + Sync,
    Fut: Future<Output = llmspell_core::Result<HookResult>> + Send,
{
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        let (_lent, shared) = Lent::new(ctx);
        (self.f)(shared).await
    }
    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

#[async_trait]
impl<F> Hook for SyncFnHook<F>
where
    F: Fn(&mut HookContext) -> llmspell_core::Result<HookResult> + Send + Sync,
{
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        (self.f)(ctx)
    }
    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

/// A context lent to an async closure: its data and metadata move into an
/// `Arc` beside copies of the small fields, and move back when the loan
/// ends, also when the closure panics. A closure that kept its `Arc` beyond
/// its future leaves copies of them behind instead. Each thread keeps the
/// last returned `Arc` for the next loan, so a loan allocates nothing.
struct Lent<'a> {
    slot: &'a mut HookContext,
    shared: Option<Arc<HookContext>>,
}

thread_local! {
    /// The `Arc` of the last loan on this thread, free for the next one.
    static SPARE: std::cell::Cell<Option<Arc<HookContext>>> = const { std::cell::Cell::new(None) };
}

/// Moves `from`'s data and metadata into `to` (swapped with `to`'s, which
/// are empty: nothing is dropped), and copies the rest where it differs.
fn lend_into(to: &mut HookContext, from: &mut HookContext) {
    if to.point != from.point {
        to.point.clone_from(&from.point);
    }
    if to.component != from.component {
        to.component.clone_from(&from.component);
    }
    if to.correlation_id != from.correlation_id {
        to.correlation_id.clone_from(&from.correlation_id);
    }
    if to.parent_id != from.parent_id {
        to.parent_id.clone_from(&from.parent_id);
    }
    if to.trace_id != from.trace_id {
        to.trace_id.clone_from(&from.trace_id);
    }
    to.language = from.language;
    std::mem::swap(&mut to.data, &mut from.data);
    to.attempt = from.attempt;
    to.cache_hit = from.cache_hit;
    std::mem::swap(&mut to.metadata, &mut from.metadata);
    to.timestamp = from.timestamp;
    to.elapsed = from.elapsed;
}

impl<'a> Lent<'a> {
    /// Lends `slot`'s context; returns the loan and the closure's `Arc`.
    fn new(slot: &'a mut HookContext) -> (Self, Arc<HookContext>) {
        let shared = Self::shared(slot);
        let lent = Self {
            slot,
            shared: Some(shared.clone()),
        };
        (lent, shared)
    }

    fn shared(slot: &mut HookContext) -> Arc<HookContext> {
        if let Some(mut spare) = SPARE.with(std::cell::Cell::take)
            && let Some(ctx) = Arc::get_mut(&mut spare)
        {
            lend_into(ctx, slot);
            return spare;
        }
        let mut fresh = HookContext {
            point: slot.point.clone(),
            component: slot.component.clone(),
            correlation_id: slot.correlation_id.clone(),
            parent_id: slot.parent_id.clone(),
            trace_id: slot.trace_id.clone(),
            language: slot.language,
            data: serde_json::Value::Null,
            attempt: slot.attempt,
            cache_hit: slot.cache_hit,
            metadata: std::collections::BTreeMap::new(),
            timestamp: slot.timestamp,
            elapsed: slot.elapsed,
        };
        lend_into(&mut fresh, slot);
        Arc::new(fresh)
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let Some(mut shared) = self.shared.take() else {
            return;
        };
        match Arc::get_mut(&mut shared) {
            Some(back) => {
                // The slot holds the empty values `lend_into` swapped in.
                std::mem::swap(&mut self.slot.data, &mut back.data);
                std::mem::swap(&mut self.slot.metadata, &mut back.metadata);
                SPARE.with(|spare| spare.set(Some(shared)));
            }
            None => {
                self.slot.data = shared.data.clone();
                self.slot.metadata = shared.metadata.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;

    use futures::FutureExt;
    use llmspell_core::ComponentId;
    use parking_lot::Mutex;
    use serde_json::json;

    use super::*;
    use crate::HookPoint;

    fn context() -> HookContext {
        let mut ctx = HookContext::new(
            HookPoint::BeforeToolExecution,
            ComponentId::tool("t"),
            json!({ "prompt": "x".repeat(10_000) }),
        );
        ctx.metadata.insert("tenant".into(), "a".into());
        ctx
    }

    #[tokio::test]
    async fn the_closure_sees_the_context_and_the_caller_gets_it_back() {
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        let hook = hook_fn(move |ctx| {
            let s = s.clone();
            async move {
                *s.lock() = Some((
                    ctx.data["prompt"].as_str().map(str::len),
                    ctx.metadata.len(),
                ));
                Ok(HookResult::Continue)
            }
        });
        let mut ctx = context();
        let before = ctx.clone();
        hook.execute(&mut ctx).await.unwrap();
        assert_eq!(*seen.lock(), Some((Some(10_000), 1)));
        assert_eq!(ctx, before);
    }

    #[tokio::test]
    async fn a_closure_that_keeps_its_context_leaves_a_copy_behind() {
        let kept = Arc::new(Mutex::new(None));
        let k = kept.clone();
        let hook = hook_fn(move |ctx| {
            *k.lock() = Some(ctx);
            async { Ok(HookResult::Continue) }
        });
        let mut ctx = context();
        let before = ctx.clone();
        hook.execute(&mut ctx).await.unwrap();
        assert_eq!(ctx, before);
        assert_eq!(kept.lock().as_deref(), Some(&before));
    }

    #[tokio::test]
    async fn a_panicking_closure_leaves_the_context_intact() {
        let hook = hook_fn(|ctx| async move {
            assert!(ctx.data.is_null(), "boom");
            Ok(HookResult::Continue)
        });
        let mut ctx = context();
        let before = ctx.clone();
        let outcome = AssertUnwindSafe(hook.execute(&mut ctx))
            .catch_unwind()
            .await;
        assert!(outcome.is_err());
        assert_eq!(ctx, before);
    }
}
