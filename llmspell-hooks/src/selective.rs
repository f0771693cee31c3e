//! A registry front that loads hooks by feature flag and toggles them at runtime.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::{Hook, HookHandle, HookId, HookOptions, HookPoint, HookRegistry, Result};

/// Creates a hook when its feature is first enabled.
pub type HookFactory = Arc<dyn Fn() -> Arc<dyn Hook> + Send + Sync>;

struct LazyHook {
    feature: String,
    point: HookPoint,
    factory: HookFactory,
    options: HookOptions,
    loaded: Option<HookHandle>,
    instantiated: u32,
}

/// Hooks declared per feature flag and loaded into a [`HookRegistry`] only
/// while their feature is enabled (library mode: applications ship many
/// hooks and turn groups on and off). A hook's factory runs the first time
/// its feature is enabled, so disabled features cost nothing; its instance
/// is kept across disable/enable. Individual hooks can also be switched off
/// and on without unregistering ([`set_hook_enabled`](Self::set_hook_enabled)).
///
/// It is the loading mechanism of configured hooks: the `llmspell.toml`
/// configuration file declares hooks by name, and they are loaded and
/// toggled through it. Until the configuration file lands, Rust
/// applications are its only users.
pub struct SelectiveHookRegistry {
    registry: HookRegistry,
    state: Mutex<State>,
}

struct State {
    features: HashSet<String>,
    hooks: Vec<LazyHook>,
    instances: Vec<Option<Arc<dyn Hook>>>,
}

impl SelectiveHookRegistry {
    /// A front over `registry`.
    pub fn new(registry: HookRegistry) -> Self {
        Self {
            registry,
            state: Mutex::new(State {
                features: HashSet::new(),
                hooks: Vec::new(),
                instances: Vec::new(),
            }),
        }
    }

    /// The registry hooks are loaded into.
    pub fn registry(&self) -> &HookRegistry {
        &self.registry
    }

    /// Declares a hook for `feature`; it is loaded now if the feature is
    /// already enabled.
    ///
    /// # Errors
    /// Invalid breaker settings in `options`.
    pub fn declare(
        &self,
        feature: impl Into<String>,
        point: HookPoint,
        factory: HookFactory,
        options: HookOptions,
    ) -> Result<()> {
        if let Some(b) = &options.breaker {
            b.validate()?;
        }
        let feature = feature.into();
        let mut st = self.state.lock();
        st.hooks.push(LazyHook {
            feature: feature.clone(),
            point,
            factory,
            options,
            loaded: None,
            instantiated: 0,
        });
        st.instances.push(None);
        if st.features.contains(&feature) {
            let i = st.hooks.len() - 1;
            self.load(&mut st, i)?;
        }
        Ok(())
    }

    fn load(&self, st: &mut State, i: usize) -> Result<()> {
        if st.hooks[i].loaded.is_some() {
            return Ok(());
        }
        let hook = match &st.instances[i] {
            Some(h) => h.clone(),
            None => {
                let h = (st.hooks[i].factory)();
                st.hooks[i].instantiated += 1;
                st.instances[i] = Some(h.clone());
                h
            }
        };
        let lazy = &mut st.hooks[i];
        let handle = self
            .registry
            .register_with(lazy.point.clone(), hook, lazy.options.clone())?;
        lazy.loaded = Some(handle);
        Ok(())
    }

    /// Enables `feature`, loading its hooks; returns how many were loaded.
    ///
    /// # Errors
    /// Invalid breaker settings of a declared hook.
    pub fn enable_feature(&self, feature: &str) -> Result<usize> {
        let mut st = self.state.lock();
        st.features.insert(feature.to_owned());
        let todo: Vec<usize> = (0..st.hooks.len())
            .filter(|&i| st.hooks[i].feature == feature && st.hooks[i].loaded.is_none())
            .collect();
        for &i in &todo {
            self.load(&mut st, i)?;
        }
        Ok(todo.len())
    }

    /// Disables `feature`, unregistering its hooks; returns how many.
    pub fn disable_feature(&self, feature: &str) -> usize {
        let mut st = self.state.lock();
        st.features.remove(feature);
        let mut n = 0;
        for h in st.hooks.iter_mut().filter(|h| h.feature == feature) {
            if let Some(handle) = h.loaded.take() {
                handle.unregister();
                n += 1;
            }
        }
        n
    }

    /// Whether `feature` is enabled.
    pub fn is_enabled(&self, feature: &str) -> bool {
        self.state.lock().features.contains(feature)
    }

    /// The registry ids of the loaded hooks of `feature`.
    pub fn loaded(&self, feature: &str) -> Vec<HookId> {
        self.state
            .lock()
            .hooks
            .iter()
            .filter(|h| h.feature == feature)
            .filter_map(|h| h.loaded.as_ref().map(HookHandle::id))
            .collect()
    }

    /// How many times the factories of `feature` have run.
    pub fn instantiations(&self, feature: &str) -> u32 {
        self.state
            .lock()
            .hooks
            .iter()
            .filter(|h| h.feature == feature)
            .map(|h| h.instantiated)
            .sum()
    }

    /// Switches one loaded hook off or on without unregistering it.
    pub fn set_hook_enabled(&self, id: HookId, enabled: bool) -> bool {
        self.registry.set_enabled(id, enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HookResult, sync_hook_fn};

    #[test]
    fn features_load_lazily_and_toggle() {
        let sel = SelectiveHookRegistry::new(HookRegistry::new());
        let factory: HookFactory =
            Arc::new(|| Arc::new(sync_hook_fn(|_| Ok(HookResult::Continue))));
        sel.declare(
            "audit",
            HookPoint::BeforeToolExecution,
            factory.clone(),
            HookOptions::new(),
        )
        .unwrap();
        sel.declare(
            "audit",
            HookPoint::AfterToolExecution,
            factory,
            HookOptions::new(),
        )
        .unwrap();
        assert_eq!(
            sel.instantiations("audit"),
            0,
            "nothing is built before the feature is on"
        );
        assert!(!sel.registry().has_hooks(&HookPoint::BeforeToolExecution));
        assert_eq!(sel.enable_feature("audit").unwrap(), 2);
        assert!(sel.registry().has_hooks(&HookPoint::AfterToolExecution));
        assert_eq!(sel.disable_feature("audit"), 2);
        assert!(sel.registry().is_empty());
        sel.enable_feature("audit").unwrap();
        assert_eq!(sel.instantiations("audit"), 2, "instances are reused");
        let id = sel.loaded("audit")[0];
        assert!(sel.set_hook_enabled(id, false));
        assert!(!sel.registry().get(id).unwrap().enabled);
    }
}
