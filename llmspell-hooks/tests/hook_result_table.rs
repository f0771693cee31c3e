//! One test per cell of the HookResult table (action × Before/After/Error),
//! through the guarded operation runner, plus the retry, redirect, fork and
//! cache rules and the lifecycle events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ComponentId, Error, Language};
use llmspell_events::EventBus;
use llmspell_hooks::{
    ForkOperation, GuardOutcome, GuardPoints, GuardSpec, GuardedRunner, HookContext, HookExecutor,
    HookHandle, HookPoint, HookRegistry, HookResult, OperationCall, sync_hook_fn,
};
use parking_lot::Mutex;
use serde_json::{Value, json};

const BEFORE: HookPoint = HookPoint::BeforeToolExecution;
const AFTER: HookPoint = HookPoint::AfterToolExecution;
const ERROR: HookPoint = HookPoint::ToolError;

/// A fixture: a registry, a runner, a spec for tool `main`, and an operation
/// that records its calls. Tool `main` doubles `x`; `backup` triples it;
/// `broken` always fails; `main` fails while `fail_first` > 0.
struct Fixture {
    registry: HookRegistry,
    runner: GuardedRunner,
    spec: GuardSpec,
    calls: Arc<Mutex<Vec<OperationCall>>>,
    fail_first: Arc<Mutex<u32>>,
    bus: EventBus,
    _hooks: Vec<HookHandle>,
}

impl Fixture {
    fn new() -> Self {
        let registry = HookRegistry::new();
        let bus = EventBus::new();
        let executor = HookExecutor::builder(registry.clone())
            .bus(bus.clone())
            .build();
        Self {
            registry,
            runner: GuardedRunner::new(executor),
            spec: GuardSpec::new(ComponentId::tool("main"), GuardPoints::tool()),
            calls: Arc::default(),
            fail_first: Arc::default(),
            bus,
            _hooks: Vec::new(),
        }
    }

    fn failing(self, times: u32) -> Self {
        *self.fail_first.lock() = times;
        self
    }

    fn hook(
        mut self,
        point: HookPoint,
        f: impl Fn(&mut HookContext) -> HookResult + Send + Sync + 'static,
    ) -> Self {
        let h = self
            .registry
            .register(point, sync_hook_fn(move |ctx| Ok(f(ctx))));
        self._hooks.push(h);
        self
    }

    async fn run(&self, x: i64) -> Result<GuardOutcome, Error> {
        let ctx = HookContext::new(BEFORE, self.spec.component().clone(), json!({ "x": x }))
            .with_language(Language::Lua);
        let calls = self.calls.clone();
        let fail_first = self.fail_first.clone();
        self.runner
            .run_context(&self.spec, ctx, move |call: OperationCall| {
                let calls = calls.clone();
                let fail_first = fail_first.clone();
                async move {
                    calls.lock().push(call.clone());
                    let x = call.input["x"].as_i64().unwrap_or(0);
                    match &*call.target {
                        "main" => {
                            let mut left = fail_first.lock();
                            if *left > 0 {
                                *left -= 1;
                                return Err(Error::execution("tool:main", "transient failure"));
                            }
                            Ok(json!({ "y": x * 2 }))
                        }
                        "backup" => Ok(json!({ "y": x * 3 })),
                        "audit" => Ok(json!({ "audited": x })),
                        "broken" => Err(Error::execution("tool:broken", "always broken")),
                        other => Err(Error::not_found("tool", other)),
                    }
                }
            })
            .await
    }

    fn targets(&self) -> Vec<String> {
        self.calls
            .lock()
            .iter()
            .map(|c| c.target.to_string())
            .collect()
    }
}

fn err_json(ctx: &HookContext) -> String {
    ctx.data["message"].as_str().unwrap_or_default().to_owned()
}

// ---- Continue ---------------------------------------------------------------

#[tokio::test]
async fn continue_before_runs_the_next_hook_then_the_operation() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s1, s2) = (seen.clone(), seen.clone());
    let f = Fixture::new()
        .hook(BEFORE, move |_| {
            s1.lock().push("first");
            HookResult::Continue
        })
        .hook(BEFORE, move |_| {
            s2.lock().push("second");
            HookResult::Continue
        });
    assert_eq!(f.run(2).await.unwrap().output, json!({ "y": 4 }));
    assert_eq!(*seen.lock(), ["first", "second"]);
}

#[tokio::test]
async fn continue_after_leaves_the_output_unchanged() {
    let f = Fixture::new().hook(AFTER, |_| HookResult::Continue);
    assert_eq!(f.run(5).await.unwrap().output, json!({ "y": 10 }));
}

#[tokio::test]
async fn continue_at_error_lets_the_error_stand() {
    let f = Fixture::new()
        .failing(1)
        .hook(ERROR, |_| HookResult::Continue);
    let err = f.run(1).await.unwrap_err();
    assert!(err.to_string().contains("transient failure"), "{err}");
}

// ---- Modified ---------------------------------------------------------------

#[tokio::test]
async fn modified_before_feeds_later_hooks_and_the_operation() {
    let saw = Arc::new(Mutex::new(Value::Null));
    let s = saw.clone();
    let f = Fixture::new()
        .hook(BEFORE, |ctx| {
            HookResult::Modified(json!({ "x": ctx.data["x"].as_i64().unwrap() + 100 }))
        })
        .hook(BEFORE, move |ctx| {
            *s.lock() = ctx.data.clone();
            HookResult::Continue
        });
    assert_eq!(f.run(1).await.unwrap().output, json!({ "y": 202 }));
    assert_eq!(
        *saw.lock(),
        json!({ "x": 101 }),
        "the next hook saw the new input"
    );
}

#[tokio::test]
async fn modified_after_replaces_the_output() {
    let f = Fixture::new().hook(AFTER, |ctx| {
        HookResult::Modified(json!({ "y": ctx.data["y"], "checked": true }))
    });
    assert_eq!(
        f.run(2).await.unwrap().output,
        json!({ "y": 4, "checked": true })
    );
}

#[tokio::test]
async fn modified_at_error_replaces_the_error_details() {
    let f = Fixture::new().failing(1).hook(ERROR, |ctx| {
        let mut e = ctx.data.clone();
        e["message"] = json!(format!("friendlier: {}", err_json(ctx)));
        HookResult::Modified(e)
    });
    let err = f.run(1).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "tool:main failed: friendlier: transient failure"
    );
}

// ---- Cancel -----------------------------------------------------------------

#[tokio::test]
async fn cancel_before_skips_the_operation_and_names_the_hook() {
    let f = Fixture::new().hook(BEFORE, |_| HookResult::Cancel("over budget".into()));
    let err = f.run(1).await.unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "anonymous".into(),
            reason: "over budget".into()
        }
    );
    assert!(f.targets().is_empty(), "the operation must not run");
}

#[tokio::test]
async fn cancel_after_discards_the_output() {
    let f = Fixture::new().hook(AFTER, |_| HookResult::Cancel("unsafe output".into()));
    match f.run(1).await.unwrap_err() {
        Error::Cancelled { reason, .. } => assert_eq!(reason, "unsafe output"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        f.targets(),
        ["main"],
        "the operation ran; its output was discarded"
    );
}

#[tokio::test]
async fn cancel_at_error_lets_the_error_stand_marked_cancelled() {
    let f = Fixture::new()
        .failing(1)
        .hook(ERROR, |_| HookResult::Cancel("give up".into()));
    let mut cancelled = f.bus.subscribe("tool.main.cancelled").unwrap();
    let err = f.run(1).await.unwrap_err();
    assert!(err.to_string().contains("transient failure"), "{err}");
    let ev = cancelled.try_recv().expect("reported as cancelled");
    assert_eq!(ev.data["error"]["message"], "transient failure");
}

// ---- Redirect ---------------------------------------------------------------

#[tokio::test]
async fn redirect_before_runs_on_the_target() {
    let f = Fixture::new().hook(BEFORE, |_| HookResult::Redirect("backup".into()));
    let out = f.run(2).await.unwrap();
    assert_eq!((out.output, &*out.target), (json!({ "y": 6 }), "backup"));
    assert_eq!(f.targets(), ["backup"]);
}

#[tokio::test]
async fn redirect_after_reruns_on_the_target() {
    let f = Fixture::new().hook(AFTER, |ctx| {
        if ctx.data["y"].as_i64() == Some(4) {
            HookResult::Redirect("backup".into())
        } else {
            HookResult::Continue
        }
    });
    let out = f.run(2).await.unwrap();
    assert_eq!(out.output, json!({ "y": 6 }));
    assert_eq!(f.targets(), ["main", "backup"]);
}

#[tokio::test]
async fn a_redirect_after_the_operation_reruns_with_the_input_the_before_hooks_left() {
    let redirect_once = |ctx: &mut HookContext| {
        if ctx.data["y"].as_i64().is_some_and(|y| y % 3 != 0) {
            HookResult::Redirect("backup".into())
        } else {
            HookResult::Continue
        }
    };
    // Before hooks changed the input: the target gets the changed input.
    let f = Fixture::new()
        .hook(BEFORE, |_| HookResult::Modified(json!({ "x": 5 })))
        .hook(AFTER, redirect_once);
    let out = f.run(2).await.unwrap();
    assert_eq!(out.output, json!({ "y": 15 }));
    let inputs: Vec<_> = f.calls.lock().iter().map(|c| c.input.clone()).collect();
    assert_eq!(inputs, [json!({ "x": 5 }), json!({ "x": 5 })]);
    // Before hooks ran and left it alone: the target gets the original.
    let f = Fixture::new()
        .hook(BEFORE, |_| HookResult::Continue)
        .hook(AFTER, redirect_once);
    let out = f.run(2).await.unwrap();
    assert_eq!(out.output, json!({ "y": 6 }));
    let inputs: Vec<_> = f.calls.lock().iter().map(|c| c.input.clone()).collect();
    assert_eq!(inputs, [json!({ "x": 2 }), json!({ "x": 2 })]);
}

#[tokio::test]
async fn redirect_at_error_falls_back_to_the_target() {
    let f = Fixture::new()
        .failing(5)
        .hook(ERROR, |_| HookResult::Redirect("backup".into()));
    let out = f.run(2).await.unwrap();
    assert_eq!(out.output, json!({ "y": 6 }));
    assert_eq!(f.targets(), ["main", "backup"]);
}

#[tokio::test]
async fn redirect_loops_are_refused() {
    let f = Fixture::new().hook(AFTER, |_| HookResult::Redirect("main".into()));
    let err = f.run(1).await.unwrap_err();
    assert!(err.to_string().contains("would loop"), "{err}");
    let f = Fixture::new()
        .hook(ERROR, |_| HookResult::Redirect("broken".into()))
        .failing(9);
    let err = f.run(1).await.unwrap_err();
    assert!(
        err.to_string().contains("always broken"),
        "the fallback's error: {err}"
    );
    assert_eq!(
        f.targets(),
        ["main", "broken"],
        "no second fallback to an already tried target"
    );
}

// ---- Replace ----------------------------------------------------------------

#[tokio::test]
async fn replace_before_skips_the_operation_and_after_hooks_see_the_value() {
    let seen = Arc::new(Mutex::new(Value::Null));
    let s = seen.clone();
    let f = Fixture::new()
        .hook(BEFORE, |_| HookResult::Replace(json!({ "y": 99 })))
        .hook(AFTER, move |ctx| {
            *s.lock() = ctx.data.clone();
            HookResult::Continue
        });
    let out = f.run(1).await.unwrap();
    assert_eq!(out.output, json!({ "y": 99 }));
    assert!(out.replaced);
    assert!(f.targets().is_empty());
    assert_eq!(*seen.lock(), json!({ "y": 99 }));
}

#[tokio::test]
async fn replace_after_replaces_the_output() {
    let f = Fixture::new().hook(AFTER, |_| HookResult::Replace(json!("redacted")));
    assert_eq!(f.run(1).await.unwrap().output, json!("redacted"));
}

#[tokio::test]
async fn replace_at_error_turns_the_error_into_success() {
    let f = Fixture::new().failing(1).hook(ERROR, |_| {
        HookResult::Replace(json!({ "y": 0, "fallback": true }))
    });
    let out = f.run(1).await.unwrap();
    assert_eq!(out.output, json!({ "y": 0, "fallback": true }));
    assert!(out.replaced);
}

// ---- Retry ------------------------------------------------------------------

#[tokio::test]
async fn retry_before_runs_again_after_the_delay_with_attempt_metadata() {
    let attempts_seen = Arc::new(Mutex::new(Vec::new()));
    let a = attempts_seen.clone();
    let f = Fixture::new().hook(BEFORE, move |ctx| {
        a.lock().push(ctx.attempt);
        if ctx.attempt < 3 {
            HookResult::Retry {
                delay: Duration::from_millis(20),
                max_attempts: 5,
            }
        } else {
            HookResult::Continue
        }
    });
    let started = std::time::Instant::now();
    let out = f.run(1).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(40),
        "two delays of 20 ms"
    );
    assert_eq!(out.attempts, 3);
    assert_eq!(*attempts_seen.lock(), [1, 2, 3]);
    assert_eq!(
        f.targets(),
        ["main"],
        "the operation ran once, after the retries"
    );
}

#[tokio::test]
async fn retry_before_beyond_max_attempts_cancels() {
    let f = Fixture::new().hook(BEFORE, |_| HookResult::Retry {
        delay: Duration::ZERO,
        max_attempts: 3,
    });
    let err = f.run(1).await.unwrap_err();
    assert!(err.to_string().contains("limit of 3 attempt(s)"), "{err}");
    assert!(f.targets().is_empty());
}

#[tokio::test]
async fn retry_after_reruns_the_sequence() {
    let f = Fixture::new().hook(AFTER, |ctx| {
        if ctx.attempt < 2 {
            HookResult::Retry {
                delay: Duration::ZERO,
                max_attempts: 3,
            }
        } else {
            HookResult::Continue
        }
    });
    let out = f.run(1).await.unwrap();
    assert_eq!(out.attempts, 2);
    assert_eq!(f.targets(), ["main", "main"]);
}

#[tokio::test]
async fn retry_at_error_reruns_until_success_and_after_hooks_run_once() {
    let after_runs = Arc::new(Mutex::new(0));
    let a = after_runs.clone();
    let before_inputs = Arc::new(Mutex::new(Vec::new()));
    let b = before_inputs.clone();
    let f = Fixture::new()
        .failing(2)
        .hook(BEFORE, move |ctx| {
            b.lock().push(ctx.data.clone());
            HookResult::Modified(json!({ "x": ctx.data["x"].as_i64().unwrap() + 1 }))
        })
        .hook(ERROR, |_| HookResult::Retry {
            delay: Duration::from_millis(1),
            max_attempts: 5,
        })
        .hook(AFTER, move |_| {
            *a.lock() += 1;
            HookResult::Continue
        });
    let out = f.run(1).await.unwrap();
    assert_eq!(
        out.output,
        json!({ "y": 4 }),
        "each attempt starts from the original input"
    );
    assert_eq!(out.attempts, 3);
    assert_eq!(*before_inputs.lock(), vec![json!({ "x": 1 }); 3]);
    assert_eq!(
        *after_runs.lock(),
        1,
        "After hooks run once, on the final outcome"
    );
}

#[tokio::test]
async fn retry_at_error_gives_up_at_max_attempts_with_the_error() {
    let f = Fixture::new()
        .failing(10)
        .hook(ERROR, |_| HookResult::Retry {
            delay: Duration::ZERO,
            max_attempts: 3,
        });
    let err = f.run(1).await.unwrap_err();
    assert!(err.to_string().contains("transient failure"));
    assert_eq!(
        f.targets().len(),
        3,
        "max_attempts counts every attempt, the first included"
    );
}

// ---- Fork -------------------------------------------------------------------

fn fork_to_audit(_: &mut HookContext) -> HookResult {
    HookResult::Fork {
        operations: vec![
            ForkOperation {
                target: "audit".into(),
                input: json!({ "x": 7 }),
            },
            ForkOperation {
                target: "missing".into(),
                input: json!({}),
            },
        ],
    }
}

#[tokio::test]
async fn fork_before_starts_extra_operations_and_reports_them() {
    let f = Fixture::new().hook(BEFORE, fork_to_audit);
    let mut forked = f.bus.subscribe("tool.main.forked").unwrap();
    let out = f.run(2).await.unwrap();
    assert_eq!(
        out.output,
        json!({ "y": 4 }),
        "the main operation still runs"
    );
    assert_eq!(out.forks.len(), 2);
    assert_eq!(out.forks[0].result, Ok(json!({ "audited": 7 })));
    assert!(out.forks[1].result.is_err());
    let mut targets = f.targets();
    targets.sort();
    assert_eq!(targets, ["audit", "main", "missing"]);
    let ev = forked.try_recv().unwrap();
    assert_eq!(ev.data["target"], "audit");
    assert_eq!(ev.data["ok"], true);
}

#[tokio::test]
async fn fork_after_runs_extra_operations_with_the_output_kept() {
    let f = Fixture::new().hook(AFTER, fork_to_audit);
    let out = f.run(2).await.unwrap();
    assert_eq!(out.output, json!({ "y": 4 }));
    assert_eq!(out.forks.len(), 2);
}

#[tokio::test]
async fn fork_at_error_runs_extra_operations_and_the_error_stands() {
    let f = Fixture::new().failing(1).hook(ERROR, fork_to_audit);
    assert!(f.run(2).await.is_err());
    assert!(f.targets().contains(&"audit".to_owned()));
}

// ---- Cache ------------------------------------------------------------------

#[tokio::test]
async fn cache_before_serves_a_hit_without_running() {
    let f = Fixture::new().hook(BEFORE, |ctx| HookResult::Cache {
        key: format!("main:{}", ctx.data["x"]),
        ttl: Duration::from_secs(60),
    });
    let first = f.run(3).await.unwrap();
    let second = f.run(3).await.unwrap();
    assert_eq!(
        (first.output.clone(), second.output),
        (json!({ "y": 6 }), json!({ "y": 6 }))
    );
    assert!(!first.cache_hit && second.cache_hit);
    assert_eq!(
        f.targets(),
        ["main"],
        "the second call was served from the cache"
    );
    f.run(4).await.unwrap();
    assert_eq!(f.targets().len(), 2, "another key runs the operation");
}

#[tokio::test]
async fn cache_entries_expire_after_their_ttl() {
    let f = Fixture::new().hook(BEFORE, |_| HookResult::Cache {
        key: "k".into(),
        ttl: Duration::from_millis(30),
    });
    f.run(1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert!(!f.run(1).await.unwrap().cache_hit);
    assert_eq!(f.targets().len(), 2);
}

#[tokio::test]
async fn cache_after_stores_the_output() {
    let f = Fixture::new().hook(AFTER, |_| HookResult::Cache {
        key: "after-key".into(),
        ttl: Duration::from_secs(60),
    });
    f.run(5).await.unwrap();
    assert_eq!(f.runner.cache().get("after-key"), Some(json!({ "y": 10 })));
}

#[tokio::test]
async fn cache_at_error_is_ignored() {
    let f = Fixture::new()
        .failing(1)
        .hook(ERROR, |_| HookResult::Cache {
            key: "e".into(),
            ttl: Duration::from_secs(60),
        });
    assert!(f.run(1).await.is_err());
    assert_eq!(f.runner.cache().get("e"), None);
}

#[tokio::test]
async fn a_served_output_rejected_and_rerun_is_not_a_cache_hit() {
    // After hooks reject a stale cached output: by a retry that bypasses the
    // cache, or by a redirect. What then runs is not served from the cache.
    let stale = json!({ "y": -1 });
    let hits = Arc::new(Mutex::new(Vec::new()));
    let after = |hits: &Arc<Mutex<Vec<bool>>>, reject: HookResult| {
        let hits = hits.clone();
        move |ctx: &mut HookContext| {
            hits.lock().push(ctx.cache_hit);
            if ctx.data["y"] == -1 {
                return reject.clone();
            }
            HookResult::Continue
        }
    };
    let f = Fixture::new()
        .hook(BEFORE, |ctx| {
            if ctx.attempt > 1 {
                return HookResult::Continue;
            }
            HookResult::Cache {
                key: "k".into(),
                ttl: Duration::from_secs(60),
            }
        })
        .hook(
            AFTER,
            after(
                &hits,
                HookResult::Retry {
                    delay: Duration::ZERO,
                    max_attempts: 2,
                },
            ),
        );
    f.runner
        .cache()
        .put("k", stale.clone(), Duration::from_secs(60));
    let out = f.run(4).await.unwrap();
    assert_eq!((out.output, out.attempts), (json!({ "y": 8 }), 2));
    assert!(!out.cache_hit, "the second attempt ran the operation");
    assert_eq!(*hits.lock(), [true, false]);

    hits.lock().clear();
    let f = Fixture::new()
        .hook(BEFORE, |_| HookResult::Cache {
            key: "k".into(),
            ttl: Duration::from_secs(60),
        })
        .hook(AFTER, after(&hits, HookResult::Redirect("backup".into())));
    f.runner.cache().put("k", stale, Duration::from_secs(60));
    let out = f.run(4).await.unwrap();
    assert_eq!((out.output, &*out.target), (json!({ "y": 12 }), "backup"));
    assert!(!out.cache_hit, "the redirect target ran");
    assert_eq!(*hits.lock(), [true, false]);
}

// ---- Skipped ----------------------------------------------------------------

#[tokio::test]
async fn skipped_goes_to_the_next_hook_at_every_point() {
    let f = Fixture::new()
        .hook(BEFORE, |_| HookResult::Skipped("not mine".into()))
        .hook(BEFORE, |_| HookResult::Modified(json!({ "x": 10 })))
        .hook(AFTER, |_| HookResult::Skipped(String::new()));
    assert_eq!(f.run(1).await.unwrap().output, json!({ "y": 20 }));
    let f = Fixture::new()
        .failing(1)
        .hook(ERROR, |_| HookResult::Skipped(String::new()));
    assert!(f.run(1).await.is_err());
}

// ---- chain rules and events --------------------------------------------------

#[tokio::test]
async fn the_first_decisive_result_ends_the_chain() {
    let later = Arc::new(Mutex::new(false));
    let l = later.clone();
    let f = Fixture::new()
        .hook(BEFORE, |_| HookResult::Replace(json!(1)))
        .hook(BEFORE, move |_| {
            *l.lock() = true;
            HookResult::Cancel("too late".into())
        });
    assert_eq!(f.run(1).await.unwrap().output, json!(1));
    assert!(!*later.lock());
}

#[tokio::test]
async fn lifecycle_events_carry_the_correlation_id_and_language() {
    let f = Fixture::new();
    let mut events = f.bus.subscribe("tool.main.*").unwrap();
    let exec = llmspell_core::ExecutionContext::new(Language::Javascript);
    let corr = exec.correlation_id.clone();
    f.runner
        .run(&f.spec, &exec, json!({ "x": 1 }), |_| async {
            Ok(json!({ "ok": true }))
        })
        .await
        .unwrap();
    let started = events.try_recv().unwrap();
    let completed = events.try_recv().unwrap();
    assert_eq!(started.event_type.as_str(), "tool.main.started");
    assert_eq!(started.data["input"], json!({ "x": 1 }));
    assert_eq!(completed.event_type.as_str(), "tool.main.completed");
    assert_eq!(completed.data["output"], json!({ "ok": true }));
    for ev in [&started, &completed] {
        assert_eq!(ev.metadata.correlation_id.as_ref(), Some(&corr));
        assert_eq!(ev.language, Language::Javascript);
    }
    let f = Fixture::new().failing(1);
    let mut failed = f.bus.subscribe("tool.main.failed").unwrap();
    assert!(f.run(1).await.is_err());
    assert_eq!(
        failed.try_recv().unwrap().data["error"]["kind"],
        "tool_failed"
    );
}
