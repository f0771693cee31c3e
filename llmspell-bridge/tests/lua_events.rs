//! The `Event` global: publish, callbacks (also while the script waits in a
//! host call), pull mode, unsubscribe, stats, overflow policies, errors of
//! callbacks isolated and reported at `EventHandlerError`, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use llmspell_hooks::{HookPoint, HookResult, sync_hook_fn};
use parking_lot::Mutex;
use serde_json::{Value, json};

mod common;
use common::{lua, lua_err, runtime, settle};

#[test]
fn callbacks_receive_events_in_order_with_the_documented_shape() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        got = {}
        Event.subscribe("orders.*", function(ev) got[#got + 1] = ev end)
        for i = 1, 5 do Event.publish("orders.created", { n = i }, { tags = { "t" } }) end
    "#,
    );
    settle(&rt);
    lua(
        &rt,
        r#"
        assert(#got == 5)
        for i, ev in ipairs(got) do assert(ev.data.n == i) end
        local ev = got[1]
        assert(ev.type == "orders.created" and ev.event_type == "orders.created")
        assert(ev.language == "lua" and type(ev.id) == "string" and #ev.id == 36)
        assert(math.type(ev.sequence) == "integer" and got[2].sequence > ev.sequence)
        assert(type(ev.timestamp) == "string" and ev.timestamp:sub(-1) == "Z")
        assert(ev.tags[1] == "t")
    "#,
    );
}

#[test]
fn callbacks_are_delivered_while_the_script_waits_in_a_host_call() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local pull = Event.subscribe("answer")
        -- The callback runs while the main chunk is blocked in Event.receive,
        -- and answers on the topic the main chunk waits for.
        Event.subscribe("question", function(ev) Event.publish("answer", { echo = ev.data.q }) end)
        Event.publish("question", { q = 42 })
        local ev = Event.receive(pull, 2000)
        assert(ev ~= nil, "the callback did not run while the script waited")
        assert(ev.data.echo == 42)
    "#,
    );
}

#[test]
fn pull_mode_receive_with_timeout_and_ids() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local sub = Event.subscribe("pull.**", { capacity = 10 })
        assert(Event.receive(sub, 10) == nil, "nothing published yet")
        Event.publish("pull.a", "x")
        local id = Event.publish("pull.b.c", "y")
        assert(Event.receive(sub, 100).data == "x")
        local ev = Event.receive(sub:id(), 100)
        assert(ev.data == "y" and ev.id == id)
        assert(sub:pattern() == "pull.**")
        assert(sub:unsubscribe() == true)
        assert(Event.unsubscribe(sub) == false)
        -- a pull subscription removed through Event.unsubscribe reports true
        local other = Event.subscribe("pull.other")
        assert(Event.unsubscribe(other) == true)
        assert(Event.unsubscribe(other) == false)
    "#,
    );
}

#[test]
fn stats_and_listings() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local a = Event.subscribe("s.*")
        local b = Event.subscribe("s.x", function() end)
        Event.publish("s.x", 1)
        Event.publish("s.y", 2)
        local st = Event.stats()
        assert(st.published >= 2 and st.delivered >= 3 and st.subscriptions == 2, JSON.encode(st))
        assert(Event.get_stats().published == st.published)
        local subs = Event.list_subscriptions()
        assert(#subs == 2 and subs[1].pattern == "s.*" and subs[1].language == "lua")
    "#,
    );
}

#[test]
fn a_full_reject_subscription_makes_publish_fail_naming_it() {
    let rt = runtime();
    let e = lua_err(
        &rt,
        r#"
        local sub = Event.subscribe("r.x", { capacity = 1, overflow = "reject" })
        Event.publish("r.x", 1)
        Event.publish("r.x", 2)
    "#,
    );
    assert!(
        e.contains("test.lua:4:") && e.contains("is full") && e.contains("\"r.x\""),
        "{e}"
    );
    let rt = runtime();
    lua(
        &rt,
        r#"
        local sub = Event.subscribe("d.x", { capacity = 2, overflow = "drop_oldest" })
        for i = 1, 5 do Event.publish("d.x", i) end
        assert(Event.receive(sub, 10).data == 4)
        assert(Event.receive(sub, 10).data == 5)
    "#,
    );
}

#[test]
fn a_failing_callback_is_reported_and_does_not_stop_delivery_or_the_script() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        seen = 0
        errors = {}
        Event.subscribe("script.callback.failed", function(ev) errors[#errors + 1] = ev.data.message end)
        Event.subscribe("f.x", function(ev)
            seen = seen + 1
            if ev.data == 2 then error("bad event " .. ev.data) end
        end)
        for i = 1, 3 do Event.publish("f.x", i) end
    "#,
    );
    settle(&rt);
    lua(
        &rt,
        r#"
        assert(seen == 3, "delivery stopped after the error: " .. seen)
        assert(#errors == 1 and string.find(errors[1], "bad event 2", 1, true), JSON.encode(errors))
    "#,
    );
}

#[test]
fn a_busy_callback_is_interrupted_and_later_events_are_still_delivered() {
    let rt = common::runtime_with(|c| c.callback_timeout = std::time::Duration::from_millis(50));
    lua(
        &rt,
        r#"
        after = 0
        Event.subscribe("spin", function(ev)
            if ev.data == 1 then while true do end end
            after = after + 1
        end)
        Event.publish("spin", 1)
        Event.publish("spin", 2)
    "#,
    );
    settle(&rt);
    lua(&rt, "assert(after == 1, 'after ' .. after)");
}

#[test]
fn bad_topics_patterns_and_options_are_clear_errors() {
    let rt = runtime();
    let e = lua_err(&rt, "Event.publish('a..b', 1)");
    assert!(
        e.contains("test.lua:1:") && e.contains("segment 2 is empty"),
        "{e}"
    );
    let e = lua_err(&rt, "Event.subscribe('a.$b', function() end)");
    assert!(e.contains("\"$b\""), "{e}");
    let e = lua_err(&rt, "Event.subscribe('a', { overflow = 'explode' })");
    assert!(e.contains("drop_oldest, drop_newest, block, reject"), "{e}");
    let e = lua_err(&rt, "Event.publish('a', { f = function() end })");
    assert!(
        e.contains("cannot convert a function to JSON (at .f)"),
        "{e}"
    );
    let e = lua_err(&rt, "Event.publish('a', 1, { correlation_id = '' })");
    assert!(
        e.contains("`correlation_id`") && e.contains("non-empty string of at most 128 bytes"),
        "{e}"
    );
    let e = lua_err(&rt, "Event.receive('not-an-id', 1)");
    assert!(e.contains("subscription id"), "{e}");
}

#[test]
fn tool_lifecycle_events_reach_lua_with_the_callers_language() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        lifecycle = {}
        Event.subscribe("tool.calculator.*", function(ev) lifecycle[#lifecycle + 1] = ev end)
        Tool.invoke("calculator", { expression = "1 + 1" })
    "#,
    );
    settle(&rt);
    lua(
        &rt,
        r#"
        assert(#lifecycle == 2)
        assert(lifecycle[1].type == "tool.calculator.started" and lifecycle[2].type == "tool.calculator.completed")
        assert(lifecycle[2].data.output.result == 2 and lifecycle[2].language == "lua")
        assert(lifecycle[1].correlation_id == lifecycle[2].correlation_id)
    "#,
    );
}

#[test]
fn sleep_lets_callbacks_run_mid_script() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local got = 0
        Event.subscribe("tick", function() got = got + 1 end)
        for i = 1, 5 do Event.publish("tick", i) end
        -- The main chunk has not waited yet, so no callback ran.
        assert(got == 0, tostring(got))
        local waited = 0
        while got < 5 and waited < 2000 do llmspell.sleep(0); waited = waited + 1 end
        assert(got == 5, tostring(got))
        local ok, e = pcall(llmspell.sleep, -1)
        assert(not ok and tostring(e):find("milliseconds"), tostring(e))
    "#,
    );
}

#[test]
fn a_waiting_callback_is_stopped_at_its_time_limit() {
    let rt = common::runtime_with(|c| c.callback_timeout = std::time::Duration::from_millis(200));
    lua(
        &rt,
        r#"
        finished = false
        failures = Event.subscribe("script.callback.failed")
        Event.subscribe("slow", function() llmspell.sleep(3000); finished = true end)
        Event.publish("slow", 1)
    "#,
    );
    settle(&rt);
    lua(
        &rt,
        r#"
        assert(finished == false, "the callback was abandoned")
        local ev = Event.receive(failures, 1000)
        assert(ev and ev.data.message:find("time limit", 1, true), ev and ev.data.message)
    "#,
    );
}

#[test]
fn a_failing_callback_fires_event_handler_error_with_what_failed() {
    let rt = runtime();
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = seen.clone();
    rt.hooks()
        .register(
            HookPoint::EventHandlerError,
            sync_hook_fn(move |ctx| {
                log.lock().push(ctx.data.clone());
                Ok(HookResult::Continue)
            }),
        )
        .forget();
    lua(
        &rt,
        r#"
        shipped = {}
        Event.subscribe("orders.*", function(ev)
            if ev.data.n == 2 then error("cannot ship order " .. ev.data.n) end
            shipped[#shipped + 1] = ev.data.n
        end)
        for n = 1, 3 do Event.publish("orders.created", { n = n }) end
    "#,
    );
    settle(&rt);
    lua(
        &rt,
        "assert(#shipped == 2 and shipped[2] == 3, 'delivery went on after the failure')",
    );
    let seen = seen.lock().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["language"], "lua");
    assert_eq!(
        seen[0]["callback"],
        json!("subscription callback for \"orders.*\"")
    );
    let message = seen[0]["message"].as_str().unwrap();
    assert!(message.contains("cannot ship order 2"), "{message}");
}
