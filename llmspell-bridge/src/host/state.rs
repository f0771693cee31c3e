//! The operations behind the `State` global.

use serde_json::Value;

use super::{Host, HostError};

/// The longest `State` key.
const MAX_STATE_KEY: usize = 256;

fn state_key(key: &str) -> Result<(), HostError> {
    if key.is_empty() || key.len() > MAX_STATE_KEY {
        return Err(format!(
            "a state key is a non-empty string of at most {MAX_STATE_KEY} bytes, got {} bytes",
            key.len()
        )
        .into());
    }
    Ok(())
}

impl Host {
    /// The session's name (`llmspell.session`), if it has one.
    pub fn session_name(&self) -> Option<&str> {
        self.inner.session.name()
    }

    /// `State.get(key)`: the value, or `null`.
    pub fn state_get(&self, key: &str) -> Result<Value, HostError> {
        state_key(key)?;
        Ok(self.inner.session.get(key))
    }

    /// `State.set(key, value)`: a `null` value removes the key.
    pub fn state_set(&self, key: &str, value: Value) -> Result<(), HostError> {
        state_key(key)?;
        self.inner.session.set(key, value);
        Ok(())
    }

    /// `State.delete(key)`: whether the key was there.
    pub fn state_delete(&self, key: &str) -> Result<bool, HostError> {
        state_key(key)?;
        Ok(self.inner.session.delete(key))
    }

    /// `State.keys()`: the keys, in the order they were first set.
    pub fn state_keys(&self) -> Value {
        Value::from(self.inner.session.keys())
    }

    /// `State.save()`: saves the session's state now, through
    /// `SessionCheckpoint`.
    pub async fn state_save(&self) -> Result<bool, HostError> {
        self.inner
            .session
            .checkpoint("save")
            .await
            .map(|()| true)
            .map_err(HostError::from)
    }
}
