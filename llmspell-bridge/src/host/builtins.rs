//! The operations behind `Hook.use`, `Hook.report` and `Hook.command`:
//! built-in hooks turned on by name, their figures, and command hooks.

use llmspell_hooks::builtin::{BUILTIN_NAMES, BuiltinEnv, BuiltinHook, command_hook};
use llmspell_hooks::{FailMode, HookId, HookPoint};
use serde_json::{Value, json};

use super::{Host, HostError};

/// A built-in hook a script (or the configuration) turned on: the hook and
/// the ids it was registered under, one per point.
pub(crate) struct UsedBuiltin {
    pub(crate) hook: BuiltinHook,
    pub(crate) ids: Vec<HookId>,
}

/// What `Hook.use` hands back: the ids and points of the registrations.
#[derive(Debug, Clone)]
pub struct UsedHook {
    /// The built-in's name (`"caching"`).
    pub kind: &'static str,
    /// One id per point, in the order of `points`.
    pub ids: Vec<String>,
    /// The points it applies to.
    pub points: Vec<String>,
}

impl UsedHook {
    /// The JSON form the engines turn into a handle.
    pub fn to_json(&self) -> Value {
        json!({ "kind": self.kind, "ids": self.ids, "points": self.points })
    }
}

impl Host {
    /// The shared parts built-in hooks of this runtime use: its bus, its
    /// runner's cache and its store (for the audit log).
    pub(crate) fn builtin_env(&self) -> BuiltinEnv {
        BuiltinEnv::new()
            .with_bus(self.inner.bus.clone())
            .with_cache(self.inner.cache.clone())
            .with_audit_store(self.inner.storage.clone())
    }

    /// `Hook.use(name, options)`: builds the built-in hook `name` from
    /// `options` (its own options and the placement options) and registers
    /// it at its points.
    ///
    /// # Errors
    /// An unknown name or option (naming the valid ones), a bad value.
    pub fn use_builtin(&self, name: &str, options: &Value) -> Result<UsedHook, HostError> {
        let hook = BuiltinHook::build(name, options, &self.builtin_env())?;
        self.install_builtin(hook)
    }

    /// Registers an already built built-in hook and keeps it for
    /// [`builtin_report`](Host::builtin_report).
    ///
    /// # Errors
    /// As [`llmspell_hooks::HookRegistry::register_all`].
    pub fn install_builtin(&self, hook: BuiltinHook) -> Result<UsedHook, HostError> {
        let handles = hook.install(&self.inner.hooks)?;
        let ids: Vec<HookId> = handles.into_iter().map(|h| h.forget()).collect();
        let used = UsedHook {
            kind: hook.kind(),
            ids: ids.iter().map(ToString::to_string).collect(),
            points: hook.points().iter().map(ToString::to_string).collect(),
        };
        self.inner.builtins.lock().push(UsedBuiltin { hook, ids });
        Ok(used)
    }

    /// Whether a built-in hook named `kind` is in use.
    pub fn builtin_in_use(&self, kind: &str) -> bool {
        self.inner
            .builtins
            .lock()
            .iter()
            .any(|u| u.hook.kind() == kind)
    }

    /// Keeps a built-in hook loaded by the configuration for
    /// [`builtin_report`](Host::builtin_report) (found by its name).
    pub(crate) fn keep_builtin(&self, hook: BuiltinHook) {
        self.inner.builtins.lock().push(UsedBuiltin {
            hook,
            ids: Vec::new(),
        });
    }

    /// `Hook.command(point, argv, options)`: registers a command hook (a
    /// program answering with the JSON decision protocol) at `point`.
    /// `options` holds the command's options and the placement options
    /// (except `points`: the point is given).
    ///
    /// # Errors
    /// A bad point, argv or option (naming the valid ones).
    pub fn register_command(
        &self,
        point: &str,
        argv: Vec<String>,
        options: &Value,
    ) -> Result<(HookId, HookPoint), HostError> {
        let point = self.point(point)?;
        let mut table = match options {
            Value::Null => serde_json::Map::new(),
            Value::Object(o) => o.clone(),
            other => {
                return Err(format!(
                    "Hook.command: argument 3 (options) must be a table, got {}",
                    llmspell_core::params::json_type(other)
                )
                .into());
            }
        };
        for key in ["argv", "points"] {
            if table.contains_key(key) {
                return Err(format!(
                    "Hook.command: `{key}` is given by the arguments, not the options"
                )
                .into());
            }
        }
        table.insert("argv".into(), json!(argv));
        let (hook, placement) = command_hook(&Value::Object(table))?;
        let options = placement.hook_options(FailMode::Open)?;
        let handle =
            self.inner
                .hooks
                .register_with(point.clone(), std::sync::Arc::new(hook), options)?;
        Ok((handle.forget(), point))
    }

    /// `Hook.report(name or id)`: the figures of the built-in hook
    /// registered under hook id `target`, or of the most recent `Hook.use`
    /// of the built-in named `target`.
    ///
    /// # Errors
    /// When no built-in hook in use matches, naming the ones in use.
    pub async fn builtin_report(&self, target: &str) -> Result<Value, HostError> {
        let hook = {
            let used = self.inner.builtins.lock();
            let found = used
                .iter()
                .rev()
                .find(|u| u.ids.iter().any(|id| id.to_string() == target))
                .or_else(|| used.iter().rev().find(|u| u.hook.kind() == target));
            match found {
                Some(u) => u.hook.clone(),
                None => {
                    let in_use: Vec<&str> = used.iter().map(|u| u.hook.kind()).collect();
                    let known = BUILTIN_NAMES.contains(&target);
                    return Err(HostError::new(
                        "not_found",
                        format!(
                            "Hook.report: {} `{target}` is not in use{}; in use: {}",
                            if known {
                                "the built-in hook"
                            } else {
                                "no built-in hook or hook id"
                            },
                            if known {
                                String::new()
                            } else {
                                llmspell_core::suggest::did_you_mean(target, BUILTIN_NAMES)
                            },
                            if in_use.is_empty() {
                                "none (turn one on with Hook.use)".to_owned()
                            } else {
                                in_use.join(", ")
                            }
                        ),
                    ));
                }
            }
        };
        Ok(hook.report().await)
    }
}
