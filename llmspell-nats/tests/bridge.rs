//! The event bridge between two hosts (two buses, two links) through a real
//! nats-server: order, metadata, no echo, local glob filtering, malformed
//! messages, bounded outbound queues, connection loss and return.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use llmspell_core::{CorrelationId, Language};
use llmspell_events::{EventBus, OverflowPolicy, UniversalEvent};
use llmspell_nats::{NatsConfig, NatsLink};
use llmspell_testkit::nats::NatsServer;
use serde_json::json;

use common::{event as ev, rt};

#[test]
fn events_cross_in_order_with_their_metadata_and_never_echo() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    rt().block_on(async {
        let config = NatsConfig::new(server.url()).prefix("t1").bridge("demo.**");
        let (a, b) = (EventBus::new(), EventBus::new());
        let link_a = NatsLink::start(config.clone().node("a"), a.clone())
            .await
            .unwrap();
        let link_b = NatsLink::start(config.node("b"), b.clone()).await.unwrap();
        let mut at_b = b.subscribe("demo.**").unwrap();
        let mut at_a = a.subscribe("demo.**").unwrap();
        let corr = CorrelationId::new("order-7").unwrap();
        let parent = CorrelationId::new_v7();
        let mut sent = Vec::new();
        for i in 0..200 {
            let e = ev("demo.order.step", json!({ "i": i }))
                .with_language(Language::Lua)
                .with_correlation_id(corr.clone())
                .with_parent_id(parent.clone())
                .with_source("script:orders.lua")
                .with_tag("x");
            sent.push(e.clone());
            a.publish(e).await.unwrap();
        }
        for want in &sent {
            let got = at_b
                .recv_timeout(Duration::from_secs(5))
                .await
                .expect("delivered");
            assert_eq!(got.id, want.id);
            assert_eq!(got.data, want.data, "in order");
            assert_eq!(got.language, Language::Lua);
            assert_eq!(got.metadata, want.metadata);
        }
        // B answers; A gets it, and neither side sees its own event again.
        b.publish(ev("demo.order.done", json!({"ok": true})).with_correlation_id(corr.clone()))
            .await
            .unwrap();
        let mut a_seen = Vec::new();
        while let Some(e) = at_a.recv_timeout(Duration::from_millis(500)).await {
            a_seen.push(e);
        }
        assert_eq!(a_seen.len(), 201, "A's own 200 once each, and B's answer");
        assert_eq!(a_seen[200].event_type.as_str(), "demo.order.done");
        assert_eq!(a_seen[200].metadata.correlation_id.as_ref(), Some(&corr));
        let extra = at_b.recv_timeout(Duration::from_millis(300)).await;
        assert_eq!(
            extra.map(|e| e.event_type.to_string()).as_deref(),
            Some("demo.order.done")
        );
        assert!(
            at_b.recv_timeout(Duration::from_millis(300))
                .await
                .is_none(),
            "no echo back to B"
        );
        assert!(link_a.flush(Duration::from_secs(2)).await);
        let (sa, sb) = (link_a.stats(), link_b.stats());
        assert_eq!((sa.published, sa.received), (200, 1), "{sa:?}");
        assert_eq!((sb.published, sb.received), (1, 200), "{sb:?}");
        assert!(
            sa.echoes_skipped >= 1 && sb.echoes_skipped >= 200,
            "{sa:?} {sb:?}"
        );
        assert!(sa.connected && sb.connected);
        link_a.shutdown().await;
        link_b.shutdown().await;
    });
}

#[test]
fn in_segment_globs_are_filtered_here_and_one_way_patterns_hold() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    rt().block_on(async {
        let (a, b) = (EventBus::new(), EventBus::new());
        let base = NatsConfig::new(server.url()).prefix("t2");
        let link_a = NatsLink::start(base.clone().node("a").publish("tool.**"), a.clone())
            .await
            .unwrap();
        let link_b = NatsLink::start(base.node("b").subscribe("tool.calc*.done"), b.clone())
            .await
            .unwrap();
        let mut at_b = b.subscribe("**").unwrap();
        for t in [
            "tool.calculator.done",
            "tool.hash.done",
            "tool.calc.done",
            "tool.calculator.started",
        ] {
            a.publish(ev(t, json!(null))).await.unwrap();
        }
        // B publishes under tool.* too, but only subscribes: nothing goes out.
        b.publish(ev("tool.calculator.done", json!("from b")))
            .await
            .unwrap();
        let mut got = Vec::new();
        while let Some(e) = at_b.recv_timeout(Duration::from_millis(500)).await {
            got.push((e.event_type.to_string(), e.data.clone()));
        }
        assert_eq!(
            got,
            [
                ("tool.calculator.done".to_owned(), json!("from b")),
                ("tool.calculator.done".to_owned(), json!(null)),
                ("tool.calc.done".to_owned(), json!(null)),
            ]
        );
        assert_eq!(link_b.stats().published, 0);
        link_a.shutdown().await;
        link_b.shutdown().await;
    });
}

#[test]
fn malformed_messages_are_reported_and_plain_ones_delivered() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    rt().block_on(async {
        let b = EventBus::new();
        let link = NatsLink::start(
            NatsConfig::new(server.url())
                .prefix("t3")
                .subscribe("demo.**")
                .node("b"),
            b.clone(),
        )
        .await
        .unwrap();
        let mut reports = b.subscribe("nats.bridge.malformed").unwrap();
        let mut demo = b.subscribe("demo.**").unwrap();
        let raw = async_nats::connect(server.url()).await.unwrap();
        raw.publish("t3.demo.bad", "not json".into()).await.unwrap();
        let mut h = async_nats::HeaderMap::new();
        h.insert("Nats-Msg-Id", "not-a-uuid");
        raw.publish_with_headers("t3.demo.bad", h, "1".into())
            .await
            .unwrap();
        raw.publish("t3.demo.plain", "{\"from\":\"nats cli\"}".into())
            .await
            .unwrap();
        raw.flush().await.unwrap();
        let first = reports.recv_timeout(Duration::from_secs(5)).await.unwrap();
        assert!(
            first.data["message"]
                .as_str()
                .unwrap()
                .contains("the payload is not JSON"),
            "{:?}",
            first.data
        );
        let second = reports.recv_timeout(Duration::from_secs(5)).await.unwrap();
        assert!(
            second.data["message"]
                .as_str()
                .unwrap()
                .contains("is not a UUID"),
            "{:?}",
            second.data
        );
        let plain = demo.recv_timeout(Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            (plain.event_type.as_str(), plain.language),
            ("demo.plain", Language::Remote)
        );
        assert_eq!(plain.data["from"], "nats cli");
        assert!(
            demo.recv_timeout(Duration::from_millis(200))
                .await
                .is_none()
        );
        let s = link.stats();
        assert_eq!((s.malformed, s.received), (2, 1), "{s:?}");
        link.shutdown().await;
    });
}

#[test]
fn an_unreachable_server_is_an_error_naming_it_and_a_full_queue_follows_its_policy() {
    rt().block_on(async {
        let port = llmspell_testkit::free_port();
        let url = format!("nats://127.0.0.1:{port}");
        let mut config = NatsConfig::new(&url).bridge("demo.**");
        config.connect_timeout = Duration::from_millis(300);
        let e = NatsLink::start(config, EventBus::new())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("cannot connect to NATS at {url}")),
            "{e}"
        );
    });
    let Some(mut server) = NatsServer::start() else {
        return;
    };
    rt().block_on(async {
        let a = EventBus::new();
        let config = NatsConfig::new(server.url())
            .prefix("t4")
            .node("a")
            .bridge("demo.**")
            .outbound_queue(10, OverflowPolicy::DropOldest);
        let link = NatsLink::start(config, a.clone()).await.unwrap();
        let mut status = a.subscribe("nats.connection.*").unwrap();
        server.kill();
        let down = next_change(&mut status, 10).await;
        assert_eq!(down.event_type.as_str(), "nats.connection.disconnected");
        // NATS is gone: publishing locally never waits, the queue drops the oldest.
        let started = std::time::Instant::now();
        for i in 0..5000 {
            a.publish(ev("demo.x", json!(i))).await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let s = link.stats();
        assert!(!s.connected && s.disconnects == 1, "{s:?}");
        // The client keeps what it was handed while disconnected, up to its
        // command buffer (2,048 commands); the rest overflowed the queue of
        // 10 and was dropped, the oldest first. Every event is one or the
        // other (but the queue's and the one in hand).
        assert!(s.outbound_dropped >= 2000, "{s:?}");
        let accounted = s.outbound_dropped + s.published;
        assert!((5000 - 11..=5000).contains(&accounted), "{s:?}");
        server.restart();
        let up = next_change(&mut status, 15).await;
        assert_eq!(up.event_type.as_str(), "nats.connection.reconnected");
        assert_eq!(up.data["reconnects"], 1);
        assert!(link.stats().connected && link.stats().reconnects == 1);
        link.shutdown().await;
    });
}

/// The next connection event on `status` that is not an error: failed
/// reconnect attempts are reported as `nats.connection.error` while the
/// server is away.
async fn next_change(
    status: &mut llmspell_events::Subscription,
    secs: u64,
) -> std::sync::Arc<UniversalEvent> {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let e = status.recv_timeout(left).await.unwrap();
        if e.event_type.as_str() != "nats.connection.error" {
            return e;
        }
    }
}

#[test]
fn a_started_link_receives_what_is_published_right_after() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    rt().block_on(async {
        let raw = async_nats::connect(server.url()).await.unwrap();
        // Each round starts a link and publishes from another connection
        // the moment the start returns: the link's subscriptions must
        // already be in force at the server.
        for round in 0..40 {
            let bus = EventBus::new();
            let mut demo = bus.subscribe("demo.**").unwrap();
            let link = NatsLink::start(
                NatsConfig::new(server.url())
                    .prefix(format!("t5r{round}"))
                    .subscribe("demo.**")
                    .node("b"),
                bus.clone(),
            )
            .await
            .unwrap();
            raw.publish(format!("t5r{round}.demo.first"), "{\"n\":1}".into())
                .await
                .unwrap();
            raw.flush().await.unwrap();
            let got = demo.recv_timeout(Duration::from_secs(5)).await;
            assert_eq!(
                got.map(|e| e.event_type.to_string()).as_deref(),
                Some("demo.first"),
                "round {round}: the first event was lost"
            );
            link.shutdown().await;
        }
    });
}
