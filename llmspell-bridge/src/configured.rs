//! Loading the hooks a configuration file declares: built-in and command
//! hooks under their features through a [`SelectiveHookRegistry`], script
//! hook files before the runtime starts.

use std::collections::BTreeMap;
use std::sync::Arc;

use llmspell_config::{HookEntry, HookKind};
use llmspell_hooks::builtin::{BuiltinHook, command_hook};
use llmspell_hooks::{FailMode, Hook, HookFactory, SelectiveHookRegistry};
use serde_json::{Value, json};

use crate::{Error, Host, Result};

/// Declares every built-in and command hook of `entries` in `features`
/// under its feature, then enables the features that have an enabled
/// entry. Built-in hooks are kept for `Hook.report`.
///
/// # Errors
/// `Error::Config` naming the entry's location for a hook that does not
/// build (the file was checked when read; this catches a store-dependent
/// option such as `audit`).
pub(crate) fn install(
    host: &Host,
    features: &SelectiveHookRegistry,
    entries: &[HookEntry],
) -> Result<()> {
    let mut enabled: BTreeMap<&str, bool> = BTreeMap::new();
    for entry in entries {
        let at = |e: &dyn std::fmt::Display| Error::Config {
            field: "hooks",
            message: format!("{}: {e}", entry.location),
        };
        let registrations = match &entry.kind {
            HookKind::Builtin(name) => {
                let hook = BuiltinHook::build(name, &entry.options, &host.builtin_env())
                    .map_err(|e| at(&e))?;
                let regs = hook.registrations().map_err(|e| at(&e))?;
                host.keep_builtin(hook);
                regs
            }
            HookKind::Command(argv) => {
                let mut options = entry.options.clone();
                if let Value::Object(o) = &mut options {
                    o.insert("argv".into(), json!(argv));
                }
                let (hook, placement) = command_hook(&options).map_err(|e| at(&e))?;
                let points = placement.points_or(&[]).map_err(|e| at(&e))?;
                if points.is_empty() {
                    return Err(at(&"a command hook names its `points`"));
                }
                let hook: Arc<dyn Hook> = Arc::new(hook);
                let options = placement.hook_options(FailMode::Open).map_err(|e| at(&e))?;
                points
                    .into_iter()
                    .map(|p| (p, hook.clone(), options.clone()))
                    .collect()
            }
            HookKind::Script(_) => continue,
        };
        for (point, hook, options) in registrations {
            let factory: HookFactory = Arc::new(move || hook.clone());
            features
                .declare(entry.feature.clone(), point, factory, options)
                .map_err(|e| at(&e))?;
        }
        *enabled.entry(&entry.feature).or_default() |= entry.enabled;
    }
    for (feature, on) in enabled {
        if on {
            features
                .enable_feature(feature)
                .map_err(|e| Error::Config {
                    field: "hooks",
                    message: format!("feature {feature:?}: {e}"),
                })?;
        }
    }
    Ok(())
}
