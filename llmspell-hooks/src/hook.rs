//! The hook contract and closure adapters.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use llmspell_core::Language;
use serde::{Deserialize, Serialize};

use crate::{HookContext, HookResult, Priority};

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

/// Makes a hook from an async closure. The closure gets its own copy of the
/// context (async code cannot borrow it across awaits), so it reports
/// changes through its result (`Modified`); for hooks that change the
/// context in place without awaiting, [`sync_hook_fn`] avoids the copy.
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
    F: Fn(HookContext) -> Fut + Send + Sync,
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
    F: Fn(HookContext) -> Fut + Send + Sync,
    Fut: Future<Output = llmspell_core::Result<HookResult>> + Send,
{
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        (self.f)(ctx.clone()).await
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
