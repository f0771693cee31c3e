//! The contract between the hook system and a script language.

use llmspell_core::Language;
use serde_json::Value;

use crate::{HookContext, HookResult, Result};

/// Converts hook contexts into a script language's values and that
/// language's return values back into [`HookResult`]s.
///
/// Script engines implement it at their boundary (the Lua and JavaScript
/// engines of `llmspell-bridge`); everything else in the hook system stays
/// language-neutral. Implementations must parse results strictly: a value
/// that is not one of the documented shapes is an error (which the executor
/// counts as a hook failure), never a silent `Continue`.
pub trait HookAdapter: Send + Sync {
    /// The language's representation of a context.
    type Context;
    /// The language's representation of a hook's return value.
    type Output;

    /// The language adapted.
    fn language(&self) -> Language;

    /// Builds the script's view of `ctx`.
    ///
    /// # Errors
    /// When the context cannot be represented (depth limits, engine errors).
    fn context_to_script(&self, ctx: &HookContext) -> Result<Self::Context>;

    /// Parses what the script returned.
    ///
    /// # Errors
    /// [`crate::Error::InvalidResult`] for anything but a valid result shape.
    fn parse_result(&self, output: Self::Output) -> Result<HookResult>;
}

/// The JSON adapter: the script view is the context's JSON form and results
/// are parsed with [`HookResult::from_script_value`].
///
/// It is the one result parser of the hook system: the Lua and JavaScript
/// engines hand every hook's return value back as JSON and parse it here
/// (their contexts are built natively, for speed), so every language
/// accepts exactly the same shapes, and so will any later hook written
/// outside Rust.
#[derive(Debug, Clone, Copy)]
pub struct JsonHookAdapter {
    language: Language,
}

impl JsonHookAdapter {
    /// An adapter reporting `language`.
    pub fn new(language: Language) -> Self {
        Self { language }
    }
}

impl HookAdapter for JsonHookAdapter {
    type Context = Value;
    type Output = Value;

    fn language(&self) -> Language {
        self.language
    }

    fn context_to_script(&self, ctx: &HookContext) -> Result<Value> {
        Ok(ctx.to_json())
    }

    fn parse_result(&self, output: Value) -> Result<HookResult> {
        HookResult::from_script_value(&output)
    }
}
