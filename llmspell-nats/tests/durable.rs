//! Durable history through a real nats-server: the stream's retention, a
//! durable consumer resuming once per event after its host stops, and the
//! history read back like the local store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use llmspell_core::CorrelationId;
use llmspell_events::{EventBus, EventQuery, REPLAYED_TAG, UniversalEvent};
use llmspell_nats::{JetStreamHistory, NatsConfig, NatsLink, StartPolicy, StreamConfig};
use llmspell_testkit::nats::NatsServer;
use serde_json::json;

use common::rt;

fn ev(topic: &str, i: i64) -> UniversalEvent {
    common::event(topic, json!({ "i": i }))
}

#[test]
fn a_durable_consumer_gets_what_it_missed_once() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    rt().block_on(async {
        let base = NatsConfig::new(server.url())
            .prefix("d1")
            .stream(StreamConfig::default());
        let a = EventBus::new();
        let link_a = NatsLink::start(base.clone().node("a").publish("jobs.**"), a.clone())
            .await
            .unwrap();
        let b_config = base.clone().subscribe("jobs.**").durable("worker-b");
        let b = EventBus::new();
        let link_b = NatsLink::start(b_config.clone(), b.clone()).await.unwrap();
        let mut at_b = b.subscribe("jobs.**").unwrap();
        for i in 0..10 {
            a.publish(ev("jobs.run", i)).await.unwrap();
        }
        for i in 0..10 {
            assert_eq!(
                at_b.recv_timeout(Duration::from_secs(5))
                    .await
                    .unwrap()
                    .data["i"],
                i
            );
        }
        // B goes away; A goes on.
        tokio::time::sleep(Duration::from_millis(200)).await;
        link_b.shutdown().await;
        drop(at_b);
        for i in 10..25 {
            a.publish(ev("jobs.run", i)).await.unwrap();
        }
        assert!(link_a.flush(Duration::from_secs(5)).await);
        // The same event published twice (a retry) is stored once.
        let again = ev("jobs.run", 99);
        a.publish(again.clone()).await.unwrap();
        a.publish(again).await.unwrap();
        assert!(link_a.flush(Duration::from_secs(5)).await);
        // B comes back with a new bus: it gets 10..25 and 99, each once.
        let b2 = EventBus::new();
        let mut at_b2 = b2.subscribe("jobs.**").unwrap();
        let link_b2 = NatsLink::start(b_config, b2.clone()).await.unwrap();
        let mut got = Vec::new();
        while let Some(e) = at_b2.recv_timeout(Duration::from_millis(1500)).await {
            got.push(e.data["i"].as_i64().unwrap());
        }
        let want: Vec<i64> = (10..25).chain([99]).collect();
        assert_eq!(got, want);
        assert_eq!(link_b2.stats().received, 16, "{:?}", link_b2.stats());
        link_b2.shutdown().await;
        link_a.shutdown().await;
    });
}

#[test]
fn the_stream_keeps_what_retention_allows_and_history_reads_it_back() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    rt().block_on(async {
        let a = EventBus::new();
        let stream = StreamConfig {
            max_events: Some(30),
            ..StreamConfig::default()
        };
        let config = NatsConfig::new(server.url())
            .prefix("d2")
            .node("a")
            .publish("audit.**")
            .stream(stream);
        let link = NatsLink::start(config, a.clone()).await.unwrap();
        let corr = CorrelationId::new("req-1").unwrap();
        let since = llmspell_core::clock::now_utc();
        for i in 0..40 {
            let mut e = ev(
                if i % 2 == 0 {
                    "audit.tool.call"
                } else {
                    "audit.agent.step"
                },
                i,
            );
            if i >= 35 {
                e = e.with_correlation_id(corr.clone());
            }
            a.publish(e).await.unwrap();
        }
        assert!(link.flush(Duration::from_secs(5)).await);
        let client = async_nats::connect(server.url()).await.unwrap();
        let history = JetStreamHistory::open(client.clone(), "d2", link.stream_name().unwrap())
            .await
            .unwrap();
        assert_eq!(
            history.count().await.unwrap(),
            30,
            "max_events keeps the newest 30"
        );
        let all = history.query(&EventQuery::new()).await.unwrap();
        assert_eq!(all.first().unwrap().data["i"], 10);
        assert_eq!(all.len(), 30);
        let tools = history
            .query(&EventQuery::new().pattern("audit.tool.*").unwrap())
            .await
            .unwrap();
        assert_eq!(tools.len(), 15);
        assert!(
            tools
                .iter()
                .all(|e| e.event_type.as_str() == "audit.tool.call")
        );
        let last = history
            .query(&EventQuery::new().limit(3).newest_first())
            .await
            .unwrap();
        let ids: Vec<_> = last.iter().map(|e| e.data["i"].as_i64().unwrap()).collect();
        assert_eq!(ids, [39, 38, 37]);
        let by_corr = history
            .query(&EventQuery::new().correlation_id(corr.clone()).since(since))
            .await
            .unwrap();
        assert_eq!(by_corr.len(), 5);
        let none = history
            .query(
                &EventQuery::new()
                    .since(llmspell_core::clock::now_utc() + chrono::Duration::hours(1)),
            )
            .await
            .unwrap();
        assert!(none.is_empty());
        // Replay into another bus: ids kept, tagged.
        let other = EventBus::new();
        let mut sub = other.subscribe("audit.**").unwrap();
        let n = history
            .replay_into(
                &EventQuery::new().pattern("audit.agent.**").unwrap(),
                &other,
            )
            .await
            .unwrap();
        assert_eq!(n, 15);
        let first = sub.recv().await.unwrap();
        assert!(first.has_tag(REPLAYED_TAG));
        assert_eq!(
            first.id,
            all.iter()
                .find(|e| e.event_type.as_str() == "audit.agent.step")
                .unwrap()
                .id
        );
        let e = JetStreamHistory::open(client, "d2", "NO_SUCH")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("open stream NO_SUCH"), "{e}");
        link.shutdown().await;
    });
}

#[test]
fn start_all_reads_the_whole_stream_and_age_retention_is_set() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    rt().block_on(async {
        let stream = StreamConfig {
            max_age: Some(Duration::from_secs(3600)),
            max_bytes: Some(1 << 20),
            ..StreamConfig::default()
        };
        let base = NatsConfig::new(server.url()).prefix("d3").stream(stream);
        let a = EventBus::new();
        let link_a = NatsLink::start(base.clone().node("a").publish("log.**"), a.clone())
            .await
            .unwrap();
        for i in 0..5 {
            a.publish(ev("log.line", i)).await.unwrap();
        }
        assert!(link_a.flush(Duration::from_secs(5)).await);
        let client = async_nats::connect(server.url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut s = js.get_stream("D3_EVENTS").await.unwrap();
        let info = s.info().await.unwrap();
        assert_eq!(info.config.max_age, Duration::from_secs(3600));
        assert_eq!(info.config.max_bytes, 1 << 20);
        assert_eq!(info.config.subjects, ["d3.log", "d3.log.>"]);
        let mut late = base.subscribe("log.**").durable("late");
        late.start = StartPolicy::All;
        let b = EventBus::new();
        let mut sub = b.subscribe("log.**").unwrap();
        let link_b = NatsLink::start(late, b.clone()).await.unwrap();
        for i in 0..5 {
            assert_eq!(
                sub.recv_timeout(Duration::from_secs(5)).await.unwrap().data["i"],
                i
            );
        }
        link_b.shutdown().await;
        link_a.shutdown().await;
    });
}
