//! Command hooks through the executor and the guarded runner: the program
//! gets the context on stdin and decides by exit status and stdout; slow,
//! crashing, flooding and unstartable programs are failures handled by the
//! fail mode, and a program never outlives its call.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_core::{ComponentId, Error, ExecutionContext, Language};
use llmspell_hooks::{
    BreakerConfig, BreakerState, CommandHook, CommandHookConfig, FailMode, GuardPoints, GuardSpec,
    GuardedRunner, HookContext, HookExecutor, HookHandle, HookOptions, HookPoint, HookRegistry,
    HookResult,
};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tempfile::TempDir;

const P: HookPoint = HookPoint::BeforeToolExecution;

/// Far below the 30 s the slow scripts sleep: a run that took this long
/// was not stopped.
const LIVENESS: Duration = Duration::from_secs(10);

/// Writes `body` to `dir/name`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn arg(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

/// A hook running `interpreter script args…` (scripts are not executed
/// directly: a file just written may still be open in a process another
/// test is forking, which makes executing it fail).
fn config(interpreter: &str, script: &Path, args: &[&str]) -> CommandHookConfig {
    let mut argv = vec![interpreter.to_owned(), arg(script)];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    CommandHookConfig::new(argv)
}

fn register(
    registry: &HookRegistry,
    config: CommandHookConfig,
    options: HookOptions,
) -> HookHandle {
    registry
        .register_with(P, Arc::new(CommandHook::new(config).unwrap()), options)
        .unwrap()
}

fn ctx(data: Value) -> HookContext {
    HookContext::new(P, ComponentId::tool("echo"), data)
}

/// Runs tool `echo` (which returns its input) through the guarded runner;
/// returns its result and the inputs the operation ran with.
async fn run_echo(registry: &HookRegistry, input: Value) -> (Result<Value, Error>, Vec<Value>) {
    let runner = GuardedRunner::new(HookExecutor::new(registry.clone()));
    let spec = GuardSpec::new(ComponentId::tool("echo"), GuardPoints::tool());
    let exec = ExecutionContext::new(Language::Lua).with_metadata("tenant", "acme");
    let seen = Mutex::new(Vec::new());
    let result = runner
        .run(&spec, &exec, input, |call| {
            seen.lock().push(call.input.clone());
            async move { Ok(call.input) }
        })
        .await
        .map(|o| o.output);
    (result, seen.into_inner())
}

/// Whether process `pid` still runs (a zombie does not: it is dead and
/// only waits for its parent to collect it).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim().chars().next());
            !matches!(state, Some('Z' | 'X'))
        }
        Err(_) if Path::new("/proc/self").exists() => false,
        Err(_) => nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok(),
    }
}

fn read_pid(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Waits (a little, a killed process takes a moment to go) until `pid`
/// no longer runs.
async fn assert_gone(pid: i32) {
    let until = Instant::now() + Duration::from_secs(5);
    while running(pid) {
        assert!(Instant::now() < until, "process {pid} still runs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn hook_failed(result: Result<impl std::fmt::Debug, Error>) -> (String, String) {
    match result {
        Err(Error::HookFailed { hook, message }) => (hook, message),
        other => panic!("expected HookFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_silent_program_lets_the_operation_run_and_got_the_context_on_stdin() {
    let dir = TempDir::new().unwrap();
    let saved = dir.path().join("context.json");
    let save = script(dir.path(), "save.sh", "cat > \"$1\"\n");
    let registry = HookRegistry::new();
    let _h = register(
        &registry,
        config("sh", &save, &[&arg(&saved)]),
        HookOptions::new(),
    );

    let (result, seen) = run_echo(&registry, json!({ "path": "notes.txt" })).await;
    assert_eq!(result.unwrap(), json!({ "path": "notes.txt" }));
    assert_eq!(seen.len(), 1);

    let context: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(context["point"], "BeforeToolExecution");
    assert_eq!(context["component"]["name"], "echo");
    assert_eq!(context["component"]["type"], "tool");
    assert!(context["correlation_id"].is_string(), "{context}");
    assert!(context["parent_id"].is_null(), "{context}");
    assert_eq!(context["language"], "lua");
    assert_eq!(context["data"], json!({ "path": "notes.txt" }));
    assert_eq!(context["metadata"], json!({ "tenant": "acme" }));
}

#[tokio::test]
async fn a_program_cancels_with_a_reason_built_from_the_context_it_read() {
    let dir = TempDir::new().unwrap();
    let policy = script(
        dir.path(),
        "policy.py",
        r#"import json, sys
ctx = json.load(sys.stdin)
print(json.dumps({
    "action": "cancel",
    "reason": "%s on %s refused for %s"
        % (ctx["point"], ctx["component"]["name"], ctx["data"]["path"]),
}))
"#,
    );
    let registry = HookRegistry::new();
    let _h = register(
        &registry,
        config("python3", &policy, &[]),
        HookOptions::new().name("policy"),
    );
    let (result, seen) = run_echo(&registry, json!({ "path": "../etc/passwd" })).await;
    match result {
        Err(Error::Cancelled { hook, reason }) => {
            assert_eq!(hook, "policy");
            assert_eq!(
                reason,
                "BeforeToolExecution on echo refused for ../etc/passwd"
            );
        }
        other => panic!("expected a cancel, got {other:?}"),
    }
    assert!(seen.is_empty(), "a cancelled operation does not run");
}

#[tokio::test]
async fn exit_status_2_cancels_with_stderr_as_the_reason() {
    let dir = TempDir::new().unwrap();
    let deny = script(
        dir.path(),
        "deny.sh",
        "echo '{\"action\": \"continue\"}'\necho '  over budget  ' >&2\nexit 2\n",
    );
    let registry = HookRegistry::new();
    let _h = register(&registry, config("sh", &deny, &[]), HookOptions::new());
    let (result, seen) = run_echo(&registry, json!({})).await;
    match result {
        Err(Error::Cancelled { hook, reason }) => {
            assert_eq!(hook, "command:sh");
            assert_eq!(reason, "over budget");
        }
        other => panic!("expected a cancel, got {other:?}"),
    }
    assert!(seen.is_empty());

    // Without a reason, the reason names the command.
    let mute = script(dir.path(), "mute.sh", "exit 2\n");
    let executor = HookExecutor::new(HookRegistry::new());
    let _h = register(
        executor.registry(),
        config("sh", &mute, &[]),
        HookOptions::new(),
    );
    let outcome = executor.execute_point(&mut ctx(json!({}))).await.unwrap();
    let HookResult::Cancel(reason) = outcome.result() else {
        panic!("expected a cancel, got {:?}", outcome.result());
    };
    assert!(reason.contains("mute.sh"), "{reason}");
    assert!(reason.contains("without a reason"), "{reason}");
}

#[tokio::test]
async fn a_modified_answer_becomes_the_data_the_operation_runs_with() {
    let dir = TempDir::new().unwrap();
    let tag = script(
        dir.path(),
        "tag.py",
        r#"import json, sys
data = json.load(sys.stdin)["data"]
data["checked_by"] = "policy"
json.dump({"action": "modified", "data": data}, sys.stdout)
"#,
    );
    let registry = HookRegistry::new();
    let _h = register(&registry, config("python3", &tag, &[]), HookOptions::new());

    let executor = HookExecutor::new(registry.clone());
    let mut context = ctx(json!({ "x": 1 }));
    let outcome = executor.execute_point(&mut context).await.unwrap();
    assert!(outcome.modified);
    assert_eq!(context.data, json!({ "x": 1, "checked_by": "policy" }));

    let (result, seen) = run_echo(&registry, json!({ "x": 2 })).await;
    assert_eq!(seen, [json!({ "x": 2, "checked_by": "policy" })]);
    assert_eq!(result.unwrap(), json!({ "x": 2, "checked_by": "policy" }));
}

/// A script that records its pid and its child's, then waits on the child.
const SLOW: &str = "echo $$ > \"$1/leader.pid\"\nsleep 30 &\necho $! > \"$1/child.pid\"\nwait\n";

#[tokio::test]
async fn a_slow_program_and_its_children_are_killed_at_the_timeout() {
    let dir = TempDir::new().unwrap();
    let slow = script(dir.path(), "slow.sh", SLOW);
    let registry = HookRegistry::new();
    let _h = register(
        &registry,
        CommandHookConfig {
            timeout_ms: 300,
            ..config("sh", &slow, &[&arg(dir.path())])
        },
        HookOptions::new().fail_mode(FailMode::Closed),
    );
    let started = Instant::now();
    let (result, seen) = run_echo(&registry, json!({})).await;
    assert!(started.elapsed() < LIVENESS, "took {:?}", started.elapsed());
    let (hook, message) = hook_failed(result);
    assert_eq!(hook, "command:sh");
    assert!(message.contains("timed out after 300 ms"), "{message}");
    assert!(seen.is_empty());
    assert_gone(read_pid(&dir.path().join("leader.pid"))).await;
    assert_gone(read_pid(&dir.path().join("child.pid"))).await;
}

#[tokio::test]
async fn the_executor_abandoning_a_call_kills_the_program_too() {
    let dir = TempDir::new().unwrap();
    let slow = script(dir.path(), "slow.sh", SLOW);
    let registry = HookRegistry::new();
    // The command's own timeout is longer than the executor's.
    let _h = register(
        &registry,
        CommandHookConfig {
            timeout_ms: 30_000,
            ..config("sh", &slow, &[&arg(dir.path())])
        },
        HookOptions::new()
            .fail_mode(FailMode::Closed)
            .timeout(Duration::from_millis(300)),
    );
    let executor = HookExecutor::new(registry);
    let (_, message) = hook_failed(executor.execute_point(&mut ctx(json!({}))).await);
    assert!(message.contains("timed out after 300 ms"), "{message}");
    assert_gone(read_pid(&dir.path().join("leader.pid"))).await;
    assert_gone(read_pid(&dir.path().join("child.pid"))).await;
}

#[tokio::test]
async fn a_background_child_holding_stdout_does_not_hold_the_call() {
    let dir = TempDir::new().unwrap();
    let pid_file = dir.path().join("child.pid");
    let quick = script(
        dir.path(),
        "quick.sh",
        "sleep 30 &\necho $! > \"$1\"\necho '{\"action\": \"cancel\", \"reason\": \"done\"}'\n",
    );
    let executor = HookExecutor::builder(HookRegistry::new())
        .config(llmspell_hooks::ExecutorConfig::default().default_timeout(None))
        .build();
    let _h = register(
        executor.registry(),
        CommandHookConfig {
            timeout_ms: 30_000,
            ..config("sh", &quick, &[&arg(&pid_file)])
        },
        HookOptions::new(),
    );
    let started = Instant::now();
    let outcome = executor.execute_point(&mut ctx(json!({}))).await.unwrap();
    assert!(started.elapsed() < LIVENESS, "took {:?}", started.elapsed());
    assert_eq!(*outcome.result(), HookResult::Cancel("done".into()));
    assert_gone(read_pid(&pid_file)).await;
}

#[tokio::test]
async fn repeated_timeouts_open_the_breaker() {
    let dir = TempDir::new().unwrap();
    let calls = dir.path().join("calls");
    let slow = script(
        dir.path(),
        "slow.sh",
        "echo call >> \"$1\"\nexec sleep 30\n",
    );
    let registry = HookRegistry::new();
    let h = register(
        &registry,
        CommandHookConfig {
            timeout_ms: 200,
            ..config("sh", &slow, &[&arg(&calls)])
        },
        HookOptions::new().breaker(BreakerConfig {
            window_size: 3,
            minimum_calls: 3,
            open_wait: Duration::from_secs(60),
            max_open_wait: Duration::from_secs(60),
            ..BreakerConfig::default()
        }),
    );
    let executor = HookExecutor::new(registry.clone());
    for _ in 0..5 {
        let outcome = executor.execute_point(&mut ctx(json!({}))).await.unwrap();
        assert_eq!(
            (outcome.skipped, outcome.result()),
            (1, &HookResult::Continue)
        );
    }
    assert_eq!(registry.get(h.id()).unwrap().breaker, BreakerState::Open);
    let started = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(
        started.lines().count(),
        3,
        "no program starts once the breaker is open"
    );
}

#[tokio::test]
async fn a_crashing_program_cancels_a_fail_closed_operation_and_is_skipped_when_fail_open() {
    let dir = TempDir::new().unwrap();
    let crash = script(
        dir.path(),
        "crash.sh",
        "echo 'boom: no policy file' >&2\nexit 1\n",
    );

    let closed = HookRegistry::new();
    let _h = register(
        &closed,
        config("sh", &crash, &[]),
        HookOptions::new()
            .name("policy")
            .fail_mode(FailMode::Closed),
    );
    let (result, seen) = run_echo(&closed, json!({})).await;
    let (hook, message) = hook_failed(result);
    assert_eq!(hook, "policy");
    assert!(message.contains("exited with status 1"), "{message}");
    assert!(message.contains("boom: no policy file"), "{message}");
    assert!(seen.is_empty());

    let open = HookRegistry::new();
    let _h = register(&open, config("sh", &crash, &[]), HookOptions::new());
    let (result, seen) = run_echo(&open, json!({ "x": 1 })).await;
    assert_eq!(result.unwrap(), json!({ "x": 1 }));
    assert_eq!(seen.len(), 1);
    let outcome = HookExecutor::new(open)
        .execute_point(&mut ctx(json!({})))
        .await
        .unwrap();
    assert_eq!(outcome.skipped, 1);

    let killed = script(dir.path(), "killed.sh", "kill -9 $$\n");
    let executor = HookExecutor::new(HookRegistry::new());
    let _h = register(
        executor.registry(),
        config("sh", &killed, &[]),
        HookOptions::new().fail_mode(FailMode::Closed),
    );
    let (_, message) = hook_failed(executor.execute_point(&mut ctx(json!({}))).await);
    assert!(
        message.contains("killed by signal 9 (SIGKILL)"),
        "{message}"
    );
}

#[tokio::test]
async fn a_program_flooding_stdout_is_killed_at_the_cap() {
    let executor = HookExecutor::builder(HookRegistry::new())
        .config(llmspell_hooks::ExecutorConfig::default().default_timeout(None))
        .build();
    let _h = register(
        executor.registry(),
        CommandHookConfig {
            timeout_ms: 30_000,
            max_stdout_bytes: 64 * 1024,
            ..CommandHookConfig::new(["yes"])
        },
        HookOptions::new().fail_mode(FailMode::Closed),
    );
    let started = Instant::now();
    let (hook, message) = hook_failed(executor.execute_point(&mut ctx(json!({}))).await);
    assert!(started.elapsed() < LIVENESS, "took {:?}", started.elapsed());
    assert_eq!(hook, "command:yes");
    assert!(
        message.contains("wrote more than 65536 bytes to stdout (max_stdout_bytes)"),
        "{message}"
    );
}

#[tokio::test]
async fn output_that_is_not_json_fails_naming_where() {
    let dir = TempDir::new().unwrap();
    let sloppy = script(dir.path(), "sloppy.sh", "echo '{\"action\": cancel}'\n");
    let executor = HookExecutor::new(HookRegistry::new());
    let _h = register(
        executor.registry(),
        config("sh", &sloppy, &[]),
        HookOptions::new().fail_mode(FailMode::Closed),
    );
    let (_, message) = hook_failed(executor.execute_point(&mut ctx(json!({}))).await);
    assert!(message.contains("stdout is not JSON"), "{message}");
    assert!(message.contains("at line 1 column 12"), "{message}");
    assert!(
        message.contains("near `{\"action\": cancel}\\n`"),
        "{message}"
    );
}

#[tokio::test]
async fn the_program_sees_only_the_variables_it_is_allowed() {
    let dir = TempDir::new().unwrap();
    let dump = dir.path().join("env");
    let config = CommandHookConfig {
        set_env: BTreeMap::from([("ENV_DUMP".to_owned(), arg(&dump))]),
        ..CommandHookConfig::new(["sh", "-c", "env > \"$ENV_DUMP\""])
    };
    let executor = HookExecutor::new(HookRegistry::new());
    let _h = register(executor.registry(), config, HookOptions::new());
    let outcome = executor.execute_point(&mut ctx(json!({}))).await.unwrap();
    assert_eq!((outcome.ran, outcome.skipped), (1, 0));

    let seen: BTreeMap<String, String> = std::fs::read_to_string(&dump)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(seen.get("PATH"), std::env::var("PATH").ok().as_ref());
    assert_eq!(seen.get("ENV_DUMP"), Some(&arg(&dump)));
    // The shell adds PWD (and may add SHLVL and _) itself.
    let allowed = |name: &str| {
        CommandHookConfig::DEFAULT_ENV.contains(&name)
            || matches!(name, "ENV_DUMP" | "PWD" | "OLDPWD" | "SHLVL" | "_")
    };
    let withheld: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| !allowed(k))
        .collect();
    assert!(
        !withheld.is_empty(),
        "the test needs a host variable outside the allow-list (cargo sets CARGO_*)"
    );
    for name in &withheld {
        assert!(!seen.contains_key(name), "{name} reached the program");
    }
    for name in seen.keys() {
        assert!(allowed(name), "{name} is not allowed");
    }
}

#[tokio::test]
async fn a_program_runs_in_its_working_directory() {
    let dir = TempDir::new().unwrap();
    let executor = HookExecutor::new(HookRegistry::new());
    let _h = register(
        executor.registry(),
        CommandHookConfig {
            cwd: Some(dir.path().to_owned()),
            ..CommandHookConfig::new([
                "sh",
                "-c",
                r#"printf '{"action": "cancel", "reason": "%s"}' "$(pwd -P)""#,
            ])
        },
        HookOptions::new(),
    );
    let outcome = executor.execute_point(&mut ctx(json!({}))).await.unwrap();
    let expected = dir.path().canonicalize().unwrap();
    assert_eq!(
        *outcome.result(),
        HookResult::Cancel(expected.to_str().unwrap().to_owned())
    );
}

#[tokio::test]
async fn a_program_that_ignores_a_large_context_does_not_block_the_call() {
    let executor = HookExecutor::new(HookRegistry::new());
    let _h = register(
        executor.registry(),
        CommandHookConfig::new(["sh", "-c", "exit 0"]),
        HookOptions::new().fail_mode(FailMode::Closed),
    );
    let big = json!({ "text": "x".repeat(4 << 20) });
    let outcome = executor.execute_point(&mut ctx(big)).await.unwrap();
    assert_eq!((outcome.ran, outcome.result()), (1, &HookResult::Continue));
}

#[tokio::test]
async fn a_program_that_cannot_start_fails_naming_it_and_why() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("no-such-policy");
    let not_executable = script(dir.path(), "plain.sh", "exit 0\n");
    std::fs::set_permissions(&not_executable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cases = [
        (
            CommandHookConfig::new([arg(&missing)]),
            "No such file or directory",
        ),
        (
            CommandHookConfig::new([arg(&not_executable)]),
            "Permission denied",
        ),
    ];
    for (config, why) in cases {
        let program = config.argv[0].clone();
        let executor = HookExecutor::new(HookRegistry::new());
        let _h = register(
            executor.registry(),
            config,
            HookOptions::new().fail_mode(FailMode::Closed),
        );
        let (_, message) = hook_failed(executor.execute_point(&mut ctx(json!({}))).await);
        assert!(
            message.contains(&format!("cannot start program `{program}`")),
            "{message}"
        );
        assert!(message.contains(why), "{message}");
    }

    // A missing working directory is named as such.
    let hook = CommandHook::new(CommandHookConfig {
        cwd: Some(dir.path().join("gone")),
        ..CommandHookConfig::new(["sh", "-c", "exit 0"])
    })
    .unwrap();
    let e = llmspell_hooks::Hook::execute(&hook, &mut ctx(json!({})))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("working directory"), "{e}");
    assert!(e.to_string().contains("gone"), "{e}");
}
