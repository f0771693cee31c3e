//! Several `llmspell` processes sharing one real nats-server: Lua in one
//! process publishing to JavaScript in another, a durable subscriber killed
//! with SIGKILL and restarted, the server restarted mid-stream, a policy
//! process serving a hook to an agent process, and a slow subscriber that
//! does not slow its publisher.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::write;
use llmspell_testkit::nats::NatsServer;
use serde_json::Value;

/// A running `llmspell`, its stdout as lines, its stderr kept; killed on drop.
struct Proc {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    seen: Vec<String>,
}

fn spawn(args: &[&str], cwd: &Path) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("llmspell starts");
    let (tx, lines) = channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = Arc::new(Mutex::new(String::new()));
    let (mut err, keep) = (child.stderr.take().unwrap(), stderr.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            keep.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    Proc {
        child,
        lines,
        stderr,
        seen: Vec::new(),
    }
}

impl Proc {
    /// The next stdout line, within `timeout`.
    fn line(&mut self, timeout: Duration) -> Option<String> {
        let l = self.lines.recv_timeout(timeout).ok()?;
        self.seen.push(l.clone());
        Some(l)
    }

    /// Waits for a stdout line equal to `want`.
    fn expect_line(&mut self, want: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while let Some(l) = self.line(deadline.saturating_duration_since(Instant::now())) {
            if l == want {
                return;
            }
        }
        panic!(
            "no line {want:?}; stdout {:?}; stderr {}",
            self.seen,
            self.stderr()
        );
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the exit; the status and every stdout line not read yet.
    fn finish(&mut self, timeout: Duration) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50));
                let rest: Vec<String> = self.lines.try_iter().collect();
                self.seen.extend(rest.iter().cloned());
                return (status, rest);
            }
            assert!(
                Instant::now() < deadline,
                "still running after {timeout:?}; stdout {:?}; stderr {}",
                self.seen,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn run_to_end(args: &[&str], cwd: &Path) -> (ExitStatus, Vec<String>, String) {
    let mut p = spawn(args, cwd);
    let (status, _) = p.finish(Duration::from_secs(60));
    (status, p.seen.clone(), p.stderr())
}

const RECEIVE_JS: &str = r#"
const sub = Event.subscribe("demo.**", { capacity: 1000 });
console.log("ready");
const want = Number(llmspell.args[0]);
for (let got = 0; got < want; got++) {
  const ev = await Event.receive(sub, 15000);
  if (!ev) throw new Error("timed out after " + got + " events");
  console.log(JSON.stringify({ type: ev.type, i: ev.data.i, corr: ev.correlation_id, parent: ev.parent_id,
    lang: ev.language, tags: ev.tags, source: ev.source }));
}
"#;

const PUBLISH_LUA: &str = r#"
local from, to = tonumber(llmspell.args[1]), tonumber(llmspell.args[2])
local topic = llmspell.args[3] or "demo.order.step"
local pause = tonumber(llmspell.args[4] or "0")
for i = from, to do
  Event.publish(topic, { i = i }, { correlation_id = "order-42", parent_id = "cart-7",
    tags = { "checkout" }, source = "script:publisher" })
  if pause > 0 then llmspell.sleep(pause) end
end
print("published " .. (to - from + 1))
"#;

#[test]
fn lua_in_one_process_publishes_and_js_in_another_receives_in_order_with_correlation() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "recv.js", RECEIVE_JS);
    write(dir.path(), "pub.lua", PUBLISH_LUA);
    let url = server.url();
    let mut b = spawn(
        &[
            "run",
            "--storage",
            "memory",
            "--nats",
            &url,
            "--nats-subscribe",
            "demo.**",
            "recv.js",
            "--",
            "100",
        ],
        dir.path(),
    );
    b.expect_line("ready", Duration::from_secs(30));
    let (status, out, err) = run_to_end(
        &[
            "run",
            "--storage",
            "memory",
            "--nats",
            &url,
            "--nats-publish",
            "demo.**",
            "pub.lua",
            "--",
            "1",
            "100",
        ],
        dir.path(),
    );
    assert!(status.success(), "{out:?} {err}");
    let (status, _) = b.finish(Duration::from_secs(30));
    assert!(status.success(), "stderr {}", b.stderr());
    let events: Vec<Value> = b.seen[1..]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 100);
    for (n, ev) in events.iter().enumerate() {
        assert_eq!(ev["i"], n + 1, "in publish order");
        assert_eq!(ev["type"], "demo.order.step");
        assert_eq!(ev["corr"], "order-42");
        assert_eq!(ev["parent"], "cart-7");
        assert_eq!(ev["lang"], "lua", "the publishing language crosses too");
        assert_eq!(ev["tags"], serde_json::json!(["checkout"]));
        assert_eq!(ev["source"], "script:publisher");
    }
}

const DURABLE_LUA: &str = r#"
local sub = Event.subscribe("jobs.**", { capacity = 10000 })
print("ready")
while true do
  local ev = Event.receive(sub, 30000)
  if ev == nil then error("no event for 30 s") end
  if ev.type == "jobs.end" then break end
  print(ev.data.i)
end
"#;

fn durable_subscriber(url: &str, dir: &Path) -> Proc {
    spawn(
        &[
            "run",
            "--storage",
            "memory",
            "--nats",
            url,
            "--nats-subscribe",
            "jobs.**",
            "--nats-durable",
            "worker",
            "sub.lua",
        ],
        dir,
    )
}

fn publish_jobs(
    url: &str,
    dir: &Path,
    from: u32,
    to: u32,
    topic: &str,
    pause_ms: u32,
) -> std::thread::JoinHandle<()> {
    let (url, dir) = (url.to_owned(), dir.to_owned());
    let topic = topic.to_owned();
    std::thread::spawn(move || {
        let (status, out, err) = run_to_end(
            &[
                "run",
                "--storage",
                "memory",
                "--nats",
                &url,
                "--nats-stream",
                "--nats-publish",
                "jobs.**",
                "pub.lua",
                "--",
                &from.to_string(),
                &to.to_string(),
                &topic,
                &pause_ms.to_string(),
            ],
            &dir,
        );
        assert!(status.success(), "{out:?} {err}");
    })
}

#[test]
fn a_subscriber_killed_with_sigkill_gets_everything_published_while_it_was_down_once() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sub.lua", DURABLE_LUA);
    write(dir.path(), "pub.lua", PUBLISH_LUA);
    let url = server.url();
    let mut b1 = durable_subscriber(&url, dir.path());
    b1.expect_line("ready", Duration::from_secs(30));
    publish_jobs(&url, dir.path(), 1, 10, "jobs.run", 0)
        .join()
        .unwrap();
    b1.expect_line("10", Duration::from_secs(15));
    // Let the acknowledgements reach the server, then SIGKILL, and let its
    // last pull request expire (2 s: see the distributed guide).
    std::thread::sleep(Duration::from_millis(500));
    b1.kill9();
    std::thread::sleep(Duration::from_millis(2500));
    let before: Vec<String> = b1.seen[1..].to_vec();
    assert_eq!(before, (1..=10).map(|i| i.to_string()).collect::<Vec<_>>());
    publish_jobs(&url, dir.path(), 11, 40, "jobs.run", 0)
        .join()
        .unwrap();
    let mut b2 = durable_subscriber(&url, dir.path());
    b2.expect_line("ready", Duration::from_secs(30));
    publish_jobs(&url, dir.path(), 0, 0, "jobs.end", 0)
        .join()
        .unwrap();
    let (status, _) = b2.finish(Duration::from_secs(30));
    assert!(status.success(), "stderr {}", b2.stderr());
    let after: Vec<String> = b2.seen[1..].to_vec();
    assert_eq!(
        after,
        (11..=40).map(|i| i.to_string()).collect::<Vec<_>>(),
        "each missed event once, in order"
    );
}

#[test]
fn the_server_restarted_mid_stream_loses_nothing_the_stream_acknowledged() {
    let Some(mut server) = NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sub.lua", DURABLE_LUA);
    write(dir.path(), "pub.lua", PUBLISH_LUA);
    let url = server.url();
    let mut b = durable_subscriber(&url, dir.path());
    b.expect_line("ready", Duration::from_secs(30));
    let publisher = publish_jobs(&url, dir.path(), 1, 300, "jobs.run", 10);
    b.expect_line("40", Duration::from_secs(30));
    server.restart();
    publisher.join().unwrap();
    publish_jobs(&url, dir.path(), 0, 0, "jobs.end", 0)
        .join()
        .unwrap();
    let (status, _) = b.finish(Duration::from_secs(60));
    assert!(status.success(), "stderr {}", b.stderr());
    let got: Vec<u32> = b.seen[1..].iter().map(|l| l.parse().unwrap()).collect();
    let mut sorted = got.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), got.len(), "no event twice");
    assert_eq!(sorted, (1..=300).collect::<Vec<_>>(), "every event arrived");
}

const POLICY_LUA: &str = r#"
Hook.register("BeforeToolExecution", function(ctx)
  local expr = ctx.data.expression or ""
  if expr:find("666", 1, true) then
    return { action = "cancel", reason = "policy: refused " .. expr .. " for " .. ctx.correlation_id }
  end
  if ctx.data.variables and ctx.data.variables.x then
    local d = ctx.data
    d.variables.x = d.variables.x * 10
    return { action = "modified", data = d }
  end
end, { name = "fleet-policy", component = "calculator" })
"#;

const AGENT_LUA: &str = r#"
local out = Tool.invoke("calculator", { expression = "x + 1", variables = { x = 4 } })
print("result " .. out.result)
local ok, err = pcall(Tool.invoke, "calculator", { expression = "666 + 1" }, { correlation_id = "req-77" })
print("refused " .. tostring(not ok) .. " " .. tostring(err))
"#;

#[test]
fn a_policy_process_modifies_and_cancels_tool_calls_of_an_agent_process() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "policy.lua", POLICY_LUA);
    write(dir.path(), "agent.lua", AGENT_LUA);
    let url = server.url();
    let mut policy = spawn(
        &[
            "hooks",
            "serve",
            "--storage",
            "memory",
            "--nats",
            &url,
            "--nats-node",
            "policy-1",
            "--point",
            "BeforeToolExecution",
            "policy.lua",
        ],
        dir.path(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !policy
        .stderr()
        .contains("serving hooks on llmspell.hooks.BeforeToolExecution as policy-1")
    {
        assert!(
            Instant::now() < deadline,
            "policy did not start: {}",
            policy.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let agent = |fail: &str| {
        run_to_end(
            &[
                "run",
                "--storage",
                "memory",
                "--nats",
                &url,
                "--nats-remote-hook",
                &format!("BeforeToolExecution:{fail}"),
                "agent.lua",
            ],
            dir.path(),
        )
    };
    let (status, out, err) = agent("closed");
    assert!(status.success(), "{out:?} {err}");
    assert_eq!(out[0], "result 41", "the policy process multiplied x by 10");
    assert!(out[1].starts_with("refused true"), "{out:?}");
    assert!(
        out[1].contains("policy: refused 666 + 1 for req-77"),
        "the correlation id crossed: {out:?}"
    );

    // The policy process is down: fail closed refuses every call, fail open runs them unchecked.
    policy.kill9();
    let (status, out, err) = agent("closed");
    assert!(!status.success(), "{out:?}");
    assert!(
        err.contains("fail-closed") && err.contains("no host serves BeforeToolExecution"),
        "{err}"
    );
    let (status, out, err) = agent("open");
    assert!(status.success(), "{out:?} {err}");
    assert_eq!(out[0], "result 5");
    assert!(out[1].starts_with("refused false"), "{out:?}");
}

const SLOW_JS: &str = r#"
const sub = Event.subscribe("flood.**", { capacity: 10, overflow: "drop_oldest" });
console.log("ready");
await llmspell.sleep(4000);
console.log("woke");
const got = [];
for (let ev = await Event.receive(sub, 0); ev; ev = await Event.receive(sub, 0)) got.push(ev.data.i);
console.log(JSON.stringify(got));
"#;

#[test]
fn a_slow_subscriber_process_drops_by_its_policy_and_does_not_slow_the_publisher() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "slow.js", SLOW_JS);
    write(dir.path(), "pub.lua", PUBLISH_LUA);
    let url = server.url();
    let mut b = spawn(
        &[
            "run",
            "--storage",
            "memory",
            "--nats",
            &url,
            "--nats-subscribe",
            "flood.**",
            "slow.js",
        ],
        dir.path(),
    );
    b.expect_line("ready", Duration::from_secs(30));
    let started = Instant::now();
    let (status, out, err) = run_to_end(
        &[
            "run",
            "--storage",
            "memory",
            "--nats",
            &url,
            "--nats-publish",
            "flood.**",
            "pub.lua",
            "--",
            "1",
            "3000",
            "flood.x",
        ],
        dir.path(),
    );
    let publisher_took = started.elapsed();
    assert!(status.success(), "{out:?} {err}");
    // The publisher finished while the subscriber was still asleep.
    assert!(
        b.lines.try_recv().is_err(),
        "the subscriber woke before the publisher finished ({publisher_took:?})"
    );
    b.expect_line("woke", Duration::from_secs(30));
    let got: Vec<u64> = serde_json::from_str(&b.line(Duration::from_secs(10)).unwrap()).unwrap();
    assert_eq!(
        got,
        (2991..=3000).collect::<Vec<_>>(),
        "drop_oldest kept the newest 10"
    );
    let (status, _) = b.finish(Duration::from_secs(30));
    assert!(status.success(), "{}", b.stderr());
}
