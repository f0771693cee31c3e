//! The operations behind the `Event` global.

use std::str::FromStr;
use std::time::Duration;

use llmspell_core::Language;
use llmspell_events::{
    OverflowPolicy, Subscription, SubscriptionOptions, Topic, TopicPattern, UniversalEvent,
};
use serde_json::{Map, Value, json};

use super::{Host, HostError, only_keys, parse_id, strings, text};

impl Host {
    /// `Event.publish`: returns the event's id.
    pub async fn publish(
        &self,
        topic: &str,
        data: Value,
        options: &Value,
        language: Language,
    ) -> Result<String, HostError> {
        let ev = self.build_event(topic, data, options, language)?;
        let receipt = self.inner.bus.publish(ev).await.map_err(HostError::from)?;
        Ok(receipt.id.to_string())
    }

    /// Builds an event from script arguments.
    pub fn build_event(
        &self,
        topic: &str,
        data: Value,
        options: &Value,
        language: Language,
    ) -> Result<UniversalEvent, HostError> {
        let topic = Topic::new(topic).map_err(HostError::from)?;
        let ev = UniversalEvent::new(topic, data).with_language(language);
        match options {
            Value::Null => Ok(ev),
            Value::Object(o) => event_options(ev, o, options),
            other => Err(format!("event options must be a table, got {other}").into()),
        }
    }

    /// `Event.subscribe`'s subscription on the bus, for `pattern` with the
    /// script's `options` (see [`subscription_options`](Host::subscription_options)).
    /// What becomes of it (a callback's pump, a pull subscription) is the
    /// engine's part; see `crate::engine::subscribe`.
    pub(crate) fn subscribe(
        &self,
        pattern: &str,
        options: &Value,
        language: Language,
    ) -> Result<Subscription, HostError> {
        let options = self.subscription_options(options, language)?;
        let pattern = TopicPattern::new(pattern).map_err(HostError::from)?;
        self.inner
            .bus
            .subscribe_with(pattern, options)
            .map_err(HostError::from)
    }

    /// Subscription options from `{ capacity, overflow }`.
    pub fn subscription_options(
        &self,
        options: &Value,
        language: Language,
    ) -> Result<SubscriptionOptions, HostError> {
        let mut opts = SubscriptionOptions::new().language(language);
        match options {
            Value::Null => {}
            Value::Object(o) => {
                let valid = ["capacity", "overflow", "block_timeout_ms", "name"];
                only_keys(o, &valid, "subscription option", &valid.join(", "))?;
                if let Some(c) = o.get("capacity") {
                    let n = c.as_u64().ok_or_else(|| {
                        HostError::invalid(format!(
                            "`capacity` must be a positive integer, got {c}"
                        ))
                    })?;
                    opts = opts.capacity(usize::try_from(n).unwrap_or(usize::MAX));
                }
                if let Some(p) = text(options, "overflow") {
                    let mut policy = OverflowPolicy::from_str(p).map_err(HostError::from)?;
                    if let (OverflowPolicy::Block { .. }, Some(ms)) =
                        (policy, o.get("block_timeout_ms").and_then(Value::as_f64))
                    {
                        policy = OverflowPolicy::Block {
                            timeout: Duration::from_secs_f64(ms.max(1.0) / 1000.0),
                        };
                    }
                    opts = opts.overflow(policy);
                } else if let Some(o) = o.get("overflow") {
                    return Err(format!("`overflow` must be a string, got {o}").into());
                }
                if let Some(n) = text(options, "name") {
                    opts = opts.name(n);
                }
            }
            other => {
                return Err(format!("subscription options must be a table, got {other}").into());
            }
        }
        opts.validate().map_err(HostError::from)?;
        Ok(opts)
    }

    /// An event as scripts see it.
    pub fn event_json(ev: &UniversalEvent) -> Value {
        let mut v = ev.to_json();
        if let Some(o) = v.as_object_mut() {
            o.insert("event_type".into(), json!(ev.event_type.as_str()));
        }
        v
    }

    /// `Event.stats`.
    pub fn stats(&self) -> Value {
        let s = self.inner.bus.stats();
        let visible = self
            .inner
            .bus
            .subscriptions()
            .iter()
            .filter(|s| !s.internal)
            .count();
        json!({
            "published": s.published,
            "delivered": s.delivered,
            "dropped": s.dropped,
            "subscriptions": visible,
        })
    }

    /// `Event.list_subscriptions`.
    pub fn list_subscriptions(&self) -> Value {
        Value::Array(
            self.inner
                .bus
                .subscriptions()
                .into_iter()
                .filter(|s| !s.internal)
                .map(|s| {
                    json!({
                        "id": s.id.to_string(),
                        "pattern": s.pattern,
                        "language": s.language,
                        "queued": s.queued,
                        "dropped": s.dropped,
                    })
                })
                .collect(),
        )
    }
}

/// `ev` with the options a script gave its event (the table `o`, also as
/// `options`).
fn event_options(
    mut ev: UniversalEvent,
    o: &Map<String, Value>,
    options: &Value,
) -> Result<UniversalEvent, HostError> {
    only_keys(
        o,
        &[
            "correlation_id",
            "parent_id",
            "tags",
            "ttl_ms",
            "ttl_seconds",
            "language",
            "source",
        ],
        "event option",
        "correlation_id, parent_id, tags, ttl_ms, source",
    )?;
    if let Some(c) = parse_id(options, "correlation_id")? {
        ev = ev.with_correlation_id(c);
    }
    if let Some(p) = parse_id(options, "parent_id")? {
        ev = ev.with_parent_id(p);
    }
    if let Some(tags) = o.get("tags") {
        for t in strings(tags, "tags")? {
            ev = ev.with_tag(t);
        }
    }
    let ttl =
        match (o.get("ttl_ms"), o.get("ttl_seconds")) {
            (Some(ms), _) => Some(ms.as_f64().map(|ms| ms / 1000.0).ok_or_else(|| {
                HostError::invalid(format!("`ttl_ms` must be a number, got {ms}"))
            })?),
            (None, Some(s)) => Some(s.as_f64().ok_or_else(|| {
                HostError::invalid(format!("`ttl_seconds` must be a number, got {s}"))
            })?),
            (None, None) => None,
        };
    if let Some(secs) = ttl {
        if !(secs.is_finite() && secs > 0.0) {
            return Err(format!("the ttl must be positive, got {secs} s").into());
        }
        ev = ev.with_ttl(Duration::from_secs_f64(secs));
    }
    if let Some(l) = text(options, "language") {
        ev = ev.with_language(Language::from_str(l).map_err(HostError::from)?);
    }
    if let Some(s) = text(options, "source") {
        ev = ev.with_source(s);
    }
    Ok(ev)
}
