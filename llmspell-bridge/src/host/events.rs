//! The operations behind the `Event` global.

use std::str::FromStr;
use std::time::Duration;

use llmspell_core::{CorrelationId, Language};
use llmspell_events::{
    OverflowPolicy, Subscription, SubscriptionOptions, Topic, TopicPattern, UniversalEvent,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Host, HostError, options};

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
        if options.is_null() {
            return Ok(ev);
        }
        options::read::<EventOptions>(options, "event option")?.apply(ev)
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

    /// Subscription options from `{ capacity, overflow, block_timeout_ms,
    /// name }`.
    pub fn subscription_options(
        &self,
        options: &Value,
        language: Language,
    ) -> Result<SubscriptionOptions, HostError> {
        let o: SubscribeOptions = options::read(options, "subscription option")?;
        let mut opts = SubscriptionOptions::new().language(language);
        if let Some(n) = o.capacity {
            opts = opts.capacity(usize::try_from(n).unwrap_or(usize::MAX));
        }
        if let Some(p) = &o.overflow {
            let mut policy = OverflowPolicy::from_str(p).map_err(HostError::from)?;
            if let (OverflowPolicy::Block { .. }, Some(ms)) = (policy, o.block_timeout_ms) {
                policy = OverflowPolicy::Block {
                    timeout: Duration::from_secs_f64(ms.max(1.0) / 1000.0),
                };
            }
            opts = opts.overflow(policy);
        }
        if let Some(n) = &o.name {
            opts = opts.name(n);
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

/// The options of `Event.publish`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventOptions {
    /// The event's correlation id.
    correlation_id: Option<CorrelationId>,
    /// The id of the event or operation that caused this one.
    parent_id: Option<CorrelationId>,
    /// Tags, kept in the event's metadata.
    tags: Option<Vec<String>>,
    /// How long the event stays deliverable, in milliseconds.
    ttl_ms: Option<f64>,
    /// The same in seconds (`ttl_ms` wins when both are given).
    ttl_seconds: Option<f64>,
    /// The language the event is attributed to (default: the script's).
    language: Option<String>,
    /// The event's source (default: the script).
    source: Option<String>,
}

impl EventOptions {
    /// `ev` with these options.
    fn apply(self, mut ev: UniversalEvent) -> Result<UniversalEvent, HostError> {
        if let Some(c) = self.correlation_id {
            ev = ev.with_correlation_id(c);
        }
        if let Some(p) = self.parent_id {
            ev = ev.with_parent_id(p);
        }
        for t in self.tags.iter().flatten() {
            ev = ev.with_tag(t);
        }
        if let Some(secs) = self.ttl_ms.map(|ms| ms / 1000.0).or(self.ttl_seconds) {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(format!("the ttl must be positive, got {secs} s").into());
            }
            ev = ev.with_ttl(Duration::from_secs_f64(secs));
        }
        if let Some(l) = &self.language {
            ev = ev.with_language(Language::from_str(l).map_err(HostError::from)?);
        }
        if let Some(s) = self.source {
            ev = ev.with_source(s);
        }
        Ok(ev)
    }
}

/// The options of `Event.subscribe`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeOptions {
    /// The queue's capacity in events.
    capacity: Option<u64>,
    /// What a full queue does: `drop_oldest`, `drop_newest`, `block` or
    /// `reject`.
    overflow: Option<String>,
    /// With `block`: how long a publisher waits for room.
    block_timeout_ms: Option<f64>,
    /// A name shown in subscription listings.
    name: Option<String>,
}
