//! Remote hooks through a real nats-server: a served hook modifies and
//! cancels calls of another host; fail closed refuses and fail open skips
//! while nobody serves; slow and hostile servers cannot hang or crash the
//! caller; the context carries correlation, parent, trace and hops.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use llmspell_core::{ComponentId, CorrelationId};
use llmspell_events::EventBus;
use llmspell_hooks::{
    FailMode, HookContext, HookExecutor, HookOptions, HookPoint, HookRegistry, HookResult, hook_fn,
};
use llmspell_nats::{HookServer, NatsConfig, NatsLink, RemoteHook, RemoteHookConfig};
use llmspell_testkit::nats::NatsServer;
use parking_lot::Mutex;
use serde_json::json;

use common::rt;

const POINT: HookPoint = HookPoint::BeforeToolExecution;

fn ctx(data: serde_json::Value) -> HookContext {
    HookContext::new(POINT, ComponentId::tool("calculator"), data)
}

/// A policy host: cancels expressions with "rm", doubles `x`, records what it saw.
fn policy_executor(
    seen: Arc<Mutex<Vec<HookContext>>>,
) -> (HookExecutor, llmspell_hooks::HookHandle) {
    let registry = HookRegistry::new();
    let handle = registry
        .register_with(
            POINT,
            Arc::new(hook_fn(move |ctx| {
                let seen = seen.clone();
                async move {
                    seen.lock().push((*ctx).clone());
                    if ctx.data["expression"]
                        .as_str()
                        .is_some_and(|e| e.contains("rm"))
                    {
                        return Ok(HookResult::Cancel("policy: no rm".into()));
                    }
                    if let Some(x) = ctx.data["x"].as_i64() {
                        return Ok(HookResult::Modified(
                            json!({ "expression": ctx.data["expression"], "x": x * 2 }),
                        ));
                    }
                    Ok(HookResult::Continue)
                }
            })),
            HookOptions::new().name("policy"),
        )
        .unwrap();
    (HookExecutor::new(registry), handle)
}

fn caller(
    link_config: &RemoteHookConfig,
    client: async_nats::Client,
    prefix: &str,
) -> (HookExecutor, llmspell_hooks::HookHandle) {
    let registry = HookRegistry::new();
    let handle = registry
        .register_with(
            POINT,
            Arc::new(RemoteHook::new(client, prefix, "agent-1", link_config)),
            HookOptions::new()
                .fail_mode(link_config.fail_mode)
                .timeout(link_config.timeout + Duration::from_millis(100)),
        )
        .unwrap();
    (HookExecutor::new(registry), handle)
}

#[test]
fn a_served_hook_modifies_and_cancels_another_hosts_calls_and_ids_travel() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    rt().block_on(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (policy, _h) = policy_executor(seen.clone());
        let mut policy_link = NatsLink::start(
            NatsConfig::new(server.url())
                .prefix("h1")
                .node("policy")
                .serve(POINT),
            EventBus::new(),
        )
        .await
        .unwrap();
        policy_link.serve(policy).await.unwrap();
        assert_eq!(
            policy_link.served_subjects(),
            ["h1.hooks.BeforeToolExecution"]
        );

        let agent_bus = EventBus::new();
        let mut agent_link = NatsLink::start(
            NatsConfig::new(server.url())
                .prefix("h1")
                .node("agent-1")
                .remote_hook(RemoteHookConfig::new(POINT).fail_mode(FailMode::Closed)),
            agent_bus,
        )
        .await
        .unwrap();
        let registry = HookRegistry::new();
        agent_link.add_remote_hooks(&registry).unwrap();
        let info = registry.list(&llmspell_hooks::HookFilter::new());
        assert_eq!(
            (info[0].name.as_str(), info[0].fail_mode),
            ("remote:BeforeToolExecution", FailMode::Closed)
        );
        let agent = HookExecutor::new(registry);

        let mut c = ctx(json!({"expression": "x + 1", "x": 21}))
            .with_correlation_id(CorrelationId::new("req-9").unwrap())
            .with_parent_id(CorrelationId::new("parent-3").unwrap())
            .with_metadata("tenant", "acme");
        c.trace_id = Some(CorrelationId::new("trace-1").unwrap());
        let out = agent.execute_point(&mut c).await.unwrap();
        assert!(
            out.modified && *out.result() == HookResult::Continue,
            "{out:?}"
        );
        assert_eq!(c.data["x"], 42);
        let there = seen.lock()[0].clone();
        assert_eq!(there.correlation_id, "req-9");
        assert_eq!(there.parent_id.as_ref().unwrap(), "parent-3");
        assert_eq!(there.trace_id.as_ref().unwrap(), "trace-1");
        assert_eq!(there.metadata["tenant"], "acme");
        assert_eq!(there.component.name.as_ref(), "calculator");

        let mut bad = ctx(json!({"expression": "rm -rf /"}));
        let out = agent.execute_point(&mut bad).await.unwrap();
        assert_eq!(*out.result(), HookResult::Cancel("policy: no rm".into()));
        assert_eq!(out.decided_by(), Some("remote:BeforeToolExecution"));
        let s = agent_link.stats();
        assert_eq!((s.hook_calls, s.hook_failures), (2, 0));
        assert_eq!(policy_link.stats().hook_requests_served, 2);

        // The policy host goes away: fail closed refuses, fail open skips.
        policy_link.shutdown().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        let e = agent
            .execute_point(&mut ctx(json!({"x": 1})))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("no host serves BeforeToolExecution"), "{e}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "no responders is immediate"
        );
        let client = agent_link.client().clone();
        let (open, _h) = caller(&RemoteHookConfig::new(POINT), client, "h1");
        let out = open.execute_point(&mut ctx(json!({"x": 1}))).await.unwrap();
        assert_eq!(
            (out.skipped, out.result().clone()),
            (1, HookResult::Continue)
        );
        agent_link.shutdown().await;
    });
}

#[test]
fn slow_and_hostile_servers_fail_the_hook_without_hanging_or_panicking() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    rt().block_on(async {
        let client = async_nats::connect(server.url()).await.unwrap();
        // A hostile responder: each request gets the next bad answer; the last never answers.
        let answers: Vec<Option<&'static [u8]>> = vec![
            Some(b"\xff\xfe garbage"),
            Some(b"{\"node\":\"x\",\"result\":{\"action\":\"launch\"}}"),
            Some(b"{\"node\":\"x\",\"result\":{\"action\":\"cancel\"},\"evil\":true}"),
            Some(b"{\"node\":\"x\",\"error\":\"cannot\"}"),
            None,
        ];
        let mut sub = client
            .subscribe("h2.hooks.BeforeToolExecution")
            .await
            .unwrap();
        let responder = client.clone();
        tokio::spawn(async move {
            let mut answers = answers.into_iter();
            while let Some(msg) = sub.next().await {
                if let (Some(Some(a)), Some(reply)) = (answers.next(), msg.reply) {
                    responder
                        .publish(reply, bytes::Bytes::from_static(a))
                        .await
                        .unwrap();
                }
            }
        });
        client.flush().await.unwrap();
        let config = RemoteHookConfig::new(POINT)
            .fail_mode(FailMode::Closed)
            .timeout(Duration::from_millis(300));
        let (exec, _h) = caller(&config, client.clone(), "h2");
        for want in [
            "is not a hook reply",
            "unknown action \"launch\"",
            "unknown field `evil`",
            "x could not run its hooks: cannot",
        ] {
            let e = exec
                .execute_point(&mut ctx(json!({})))
                .await
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
        let started = Instant::now();
        let e = exec
            .execute_point(&mut ctx(json!({})))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("timed out") || e.contains("Timeout") || e.contains("after"),
            "{e}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    });
}

#[test]
fn hosts_refuse_loops_and_bad_requests_with_an_error_reply() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    rt().block_on(async {
        let client = async_nats::connect(server.url()).await.unwrap();
        // A host that serves the point with a hook that calls the point remotely: itself.
        let registry = HookRegistry::new();
        let _h = registry
            .register_with(
                POINT,
                Arc::new(RemoteHook::new(
                    client.clone(),
                    "h3",
                    "loop-host",
                    &RemoteHookConfig::new(POINT).fail_mode(FailMode::Closed),
                )),
                HookOptions::new().fail_mode(FailMode::Closed),
            )
            .unwrap();
        let _server = HookServer::start(
            client.clone(),
            "h3",
            "loop-host",
            &[POINT],
            HookExecutor::new(registry),
        )
        .await
        .unwrap();
        let (exec, _h2) = caller(
            &RemoteHookConfig::new(POINT).fail_mode(FailMode::Closed),
            client.clone(),
            "h3",
        );
        let out = exec.execute_point(&mut ctx(json!({}))).await.unwrap();
        match out.result() {
            HookResult::Cancel(reason) => assert!(reason.contains("already visited"), "{reason}"),
            other => panic!("{other:?}"),
        }
        for (payload, want) in [
            (&b"{}"[..], "not a distributed hook context"),
            (&b"\xff"[..], "not UTF-8"),
        ] {
            let reply = client
                .request(
                    "h3.hooks.BeforeToolExecution",
                    bytes::Bytes::copy_from_slice(payload),
                )
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
            assert!(v["error"].as_str().unwrap().contains(want), "{v}");
            assert_eq!(v["node"], "loop-host");
        }
        let wrong_point = llmspell_hooks::DistributedHookContext::new(
            HookContext::new(
                HookPoint::AfterToolExecution,
                ComponentId::tool("t"),
                json!({}),
            ),
            "x",
        );
        let reply = client
            .request(
                "h3.hooks.BeforeToolExecution",
                wrong_point.to_json().unwrap().into(),
            )
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains("is for AfterToolExecution"),
            "{v}"
        );
    });
}
