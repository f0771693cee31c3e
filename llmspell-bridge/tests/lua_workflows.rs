//! The `Workflow` global: the four patterns from Lua, steps of every kind,
//! state passed to script functions, hooks around steps, events, policies
//! and bad specs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{lua, lua_err, runtime, settle};

#[test]
fn sequential_runs_every_step_kind_and_shares_state() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local doubler = Agent.create({ name = "doubler", handler = function(input)
            return { n = input.n * 2 }
        end })
        local inner = Workflow.sequential({ name = "inner", steps = {
            { name = "inc", fn = function(input, state) return { n = state.input.n + 1 } end } } })
        local wf = Workflow.sequential({ name = "etl", steps = {
            { name = "add", tool = "calculator", input = { expression = "1 + 2" } },
            { name = "dbl", agent = doubler,
              input = function(state) return { n = state.outputs.add.result } end },
            { name = "nest", workflow = inner,
              input = function(state) return { n = state.outputs.dbl.n } end },
            { name = "fmt", fn = function(input, state)
                assert(input.seed == 1, "fn steps get the workflow input by default")
                return "n=" .. state.outputs.nest.outputs.inc.n
              end },
        } })
        assert(wf.name == "etl")
        local res = wf:execute({ seed = 1 })
        assert(res.success == true)
        assert(res.outputs.add.result == 3)
        assert(res.outputs.dbl.n == 6)
        assert(res.outputs.fmt == "n=7", tostring(res.outputs.fmt))
        assert(type(res.duration_ms) == "number")
        assert(res.state.input.seed == 1)
        -- steps may name registered components
        local byname = Workflow.sequential({ name = "byname", steps = {
            { name = "a", agent = "doubler", input = { n = 5 } },
            { name = "w", workflow = "inner", input = { n = 1 } } } })
        local r2 = byname:execute({})
        assert(r2.outputs.a.n == 10 and r2.outputs.w.outputs.inc.n == 2)
        assert(#Workflow.list() == 3)
        assert(Workflow.get("etl").name == "etl")
    "#,
    );
}

#[test]
fn conditional_loop_and_parallel() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local c = Workflow.conditional({ name = "route", branches = {
            { name = "big", when = function(s) return s.input.v > 10 end,
              steps = { { name = "label", fn = function() return "big" end } } },
            { name = "mid", when = function(s) return s.input.v > 5 end,
              steps = { { name = "label_mid", fn = function() return "mid" end } } } },
            default = { { name = "label_small", fn = function() return "small" end } } })
        local r = c:execute({ v = 20 }); assert(r.branch == "big" and r.outputs.label == "big")
        r = c:execute({ v = 7 }); assert(r.branch == "mid" and r.outputs.label_mid == "mid")
        r = c:execute({ v = 1 }); assert(r.branch == "default" and r.outputs.label_small == "small")

        local total = 0
        local lp = Workflow.loop({ name = "sum", range = { 1, 5, 1 }, body = {
            { name = "acc", fn = function(input, state) total = total + state.iteration; return total end } } })
        r = lp:execute({})
        assert(r.iterations == 5 and total == 1 + 2 + 3 + 4 + 5, tostring(total))

        local seen = {}
        local items = Workflow.loop({ name = "each", items = { "a", "b", "c", "d" },
            body = { { name = "visit", fn = function(input, state) table.insert(seen, state.item); return state.item end } },
            break_when = function(state) return state.outputs.visit == "c" end })
        r = items:execute({})
        assert(table.concat(seen) == "abc", table.concat(seen))
        assert(r.termination == "break", tostring(r.termination))

        local capped = Workflow.loop({ name = "cap", ["while"] = function() return true end,
            body = { { name = "noop", fn = function() return 1 end } }, max_iterations = 3 })
        r = capped:execute({})
        assert(r.iterations == 3 and r.termination == "max_iterations")

        local p = Workflow.parallel({ name = "fan", max_concurrency = 2, branches = {
            { name = "x", steps = { { name = "x1", tool = "calculator", input = { expression = "6 * 7" } } } },
            { name = "y", steps = { { name = "y1", fn = function() return "why" end } } },
            { name = "z", steps = { { name = "z1", fn = function() return "zed" end } } } } })
        r = p:execute({})
        assert(r.success and r.outputs.x1.result == 42 and r.outputs.y1 == "why" and r.outputs.z1 == "zed")
    "#,
    );
}

#[test]
fn step_hooks_events_and_policies() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local stages = {}
        Hook.register("BeforeWorkflowStage", function(ctx) table.insert(stages, "before") end)
        Hook.register("AfterWorkflowStage", function(ctx) table.insert(stages, "after") end)
        -- a hook replacing a step's output skips it
        Hook.register("BeforeWorkflowStage", function(ctx)
            if ctx.metadata and ctx.metadata.step == "skipme" then
                return { action = "replace", value = "skipped by hook" }
            end
        end, { priority = "high" })
        local events = {}
        Event.subscribe("workflow.pol.**", function(ev) table.insert(events, ev.type) end)
        local attempts = 0
        local wf = Workflow.sequential({ name = "pol", steps = {
            { name = "flaky", fn = function()
                attempts = attempts + 1
                if attempts < 3 then error("transient") end
                return "third time"
              end, retry = { max_attempts = 3, delay_ms = 1 } },
            { name = "broken", fn = function() error("always") end, on_error = "continue" },
            { name = "fallback", fn = function() error("nope") end, on_error = { default = "dflt" } },
            { name = "skipme", fn = function() error("must not run") end },
            { name = "saved", fn = function() return 99 end, save_as = "answer" },
            { name = "reader", fn = function(input, state) return state.vars.answer end },
        } })
        local r = wf:execute({})
        assert(attempts == 3)
        assert(r.outputs.flaky == "third time")
        assert(r.success == false, "an absorbed error makes success false")
        assert(#r.errors == 1 and r.errors[1].step == "broken", JSON.encode(r.errors))
        assert(r.outputs.fallback == "dflt")
        assert(r.outputs.skipme == "skipped by hook", tostring(r.outputs.skipme))
        assert(r.outputs.reader == 99)
        _G.stages, _G.events = stages, events
    "#,
    );
    settle(&rt);
    lua(
        &rt,
        r#"
        local befores, afters = 0, 0
        for _, s in ipairs(stages) do
            if s == "before" then befores = befores + 1 else afters = afters + 1 end
        end
        assert(befores >= 5 and afters >= 3, befores .. " " .. afters)
        local has = {}
        for _, t in ipairs(events) do has[t] = true end
        assert(has["workflow.pol.started"] and has["workflow.pol.completed"], table.concat(events, ","))
        assert(has["workflow.pol.step.flaky.completed"], table.concat(events, ","))
    "#,
    );
}

#[test]
fn failures_raise_and_cancels_stop_the_run() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local wf = Workflow.sequential({ name = "fails", steps = {
            { name = "bad", fn = function() error("kaput") end } } })
        local ok, e = pcall(function() return wf:execute({}) end)
        assert(not ok and tostring(e):find("kaput"), tostring(e))
        local ran = false
        Hook.register("BeforeWorkflowStart", function(ctx)
            return { action = "cancel", reason = "maintenance window" }
        end)
        local wf2 = Workflow.sequential({ name = "blocked", steps = {
            { name = "s", fn = function() ran = true end } } })
        ok, e = pcall(function() return wf2:execute({}) end)
        assert(not ok and tostring(e):find("maintenance window"), tostring(e))
        assert(ran == false)
    "#,
    );
}

#[test]
fn bad_specs_name_the_field() {
    let rt = runtime();
    let e = lua_err(
        &rt,
        "Workflow.sequential({ name = 'w', steps = { { name = 's' } } })",
    );
    assert!(
        e.contains("test.lua:1:") && e.contains("steps[1] (s) needs exactly one of"),
        "{e}"
    );
    let e = lua_err(
        &rt,
        "Workflow.sequential({ name = 'w', steps = { { name = 's', tool = 'no_such_tool' } } })",
    );
    assert!(e.contains("no tool named \"no_such_tool\""), "{e}");
    let e = lua_err(&rt, "Workflow.sequential({ name = 'w', stpes = {} })");
    assert!(
        e.contains("unknown field `stpes`") && e.contains("steps"),
        "{e}"
    );
    let e = lua_err(
        &rt,
        "Workflow.loop({ name = 'l', body = {}, items = {1}, range = {1, 2} })",
    );
    assert!(
        e.contains("exactly one of `items`, `range`, `while`"),
        "{e}"
    );
    let e = lua_err(
        &rt,
        "Workflow.conditional({ name = 'c', branches = { { name = 'b', when = 3, steps = {} } } })",
    );
    assert!(e.contains("when must be a function, got number"), "{e}");
    let e = lua_err(
        &rt,
        "Workflow.sequential({ name = 'w', steps = { { name = 's', fn = function() end, on_error = 'explode' } } })",
    );
    assert!(e.contains("on_error must be"), "{e}");
    let e = lua_err(
        &rt,
        "Workflow.sequential({ name = 'has space', steps = {} })",
    );
    assert!(e.contains("has space"), "{e}");
    lua(&rt, "Workflow.sequential({ name = 'once', steps = {} })");
    let e = lua_err(&rt, "Workflow.sequential({ name = 'once', steps = {} })");
    assert!(e.contains("already exists"), "{e}");
    let e = lua_err(
        &rt,
        "Workflow.sequential({ name = 'w2', steps = { { name = 's', tool = 'calculator', input = { f = print } } } })",
    );
    assert!(
        e.contains("steps[1] (s).input") && e.contains("at f"),
        "{e}"
    );
}
