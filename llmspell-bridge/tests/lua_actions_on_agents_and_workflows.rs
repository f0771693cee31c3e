//! Every hook action returned by a Lua hook on agent invocations
//! (`a:invoke`: `BeforeAgentExecution`, `AfterAgentExecution`, `AgentError`)
//! and on workflow runs (`wf:execute`: `BeforeWorkflowStart`,
//! `AfterWorkflowComplete`, `BeforeWorkflowStage`, `AfterWorkflowStage`,
//! `WorkflowError`), checked by what the script sees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{lua, runtime};

#[test]
fn modified_reaches_agent_handlers_workflow_steps_and_results() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local seen = {}
        local echo = Agent.create({ name = "echo", handler = function(input)
            table.insert(seen, input.text or "fail")
            if input.fail then error("original failure") end
            return { echo = input.text }
        end })
        Hook.register("BeforeAgentExecution", function(ctx)
            if ctx.data.text == "before" then return { action = "modified", data = { text = "changed by hook" } } end
        end, { component = "echo" })
        Hook.register("AfterAgentExecution", function(ctx)
            if ctx.data.echo == "after" then return { action = "modified", data = { echo = "after", stamped = true } } end
        end, { component = "echo" })
        Hook.register("AgentError", function(ctx)
            return { action = "modified", data = { kind = "execution", message = "rewritten by hook" } }
        end, { component = "echo" })

        assert(echo:invoke({ text = "before" }).echo == "changed by hook")
        assert(seen[1] == "changed by hook", "the handler got the modified input")
        local out = echo:invoke({ text = "after" })
        assert(out.echo == "after" and out.stamped == true, JSON.encode(out))
        local ok, e = pcall(function() return echo:invoke({ fail = true }) end)
        e = tostring(e)
        assert(not ok and e:find("rewritten by hook", 1, true), e)
        assert(not e:find("original failure", 1, true), e)

        local wf = Workflow.sequential({ name = "mod_wf", steps = {
            { name = "first", fn = function(input) return { got = input } end },
            { name = "second", fn = function(input) return { got = input } end, input = { n = 1 } },
        } })
        Hook.register("BeforeWorkflowStart", function(ctx)
            return { action = "modified", data = { who = "start hook" } }
        end, { component = "mod_wf" })
        Hook.register("BeforeWorkflowStage", function(ctx)
            if ctx.metadata.step == "second" then return { action = "modified", data = { n = ctx.data.n + 41 } } end
        end, { component = "mod_wf" })
        Hook.register("AfterWorkflowStage", function(ctx)
            if ctx.metadata.step == "first" then
                return { action = "modified", data = { got = ctx.data.got, checked = true } }
            end
        end, { component = "mod_wf" })
        Hook.register("AfterWorkflowComplete", function(ctx)
            local r = ctx.data
            r.stamped = true
            return { action = "modified", data = r }
        end, { component = "mod_wf" })
        local r = wf:execute({ who = "caller" })
        assert(r.outputs.first.got.who == "start hook", JSON.encode(r.outputs))
        assert(r.outputs.first.checked == true, "the recorded output is the modified one")
        assert(r.outputs.second.got.n == 42, JSON.encode(r.outputs.second))
        assert(r.stamped == true and r.success == true)

        local bad = Workflow.sequential({ name = "mod_bad", steps = {
            { name = "boom", fn = function() error("original failure") end } } })
        Hook.register("WorkflowError", function(ctx)
            if ctx.metadata.step == "boom" then
                return { action = "modified", data = { kind = "execution", message = "step error rewritten" } }
            end
        end, { component = "mod_bad" })
        ok, e = pcall(function() return bad:execute({}) end)
        e = tostring(e)
        assert(not ok and e:find("step error rewritten", 1, true), e)
        assert(not e:find("original failure", 1, true), e)
    "#,
    );
}

#[test]
fn cancel_raises_the_reason_and_stops_the_handler_or_the_steps() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local function fails_with(f, text)
            local ok, e = pcall(f)
            e = tostring(e)
            assert(not ok, "expected an error containing " .. text)
            assert(e:find(text, 1, true), e)
        end
        local calls = 0
        local a = Agent.create({ name = "guarded", handler = function(input)
            calls = calls + 1
            if input.fail then error("handler failure") end
            return { ok = true }
        end })
        local h = Hook.register("BeforeAgentExecution", function(ctx)
            return { action = "cancel", reason = "not before noon" }
        end, { component = "guarded", name = "clock" })
        fails_with(function() return a:invoke({}) end, 'cancelled by hook "clock": not before noon')
        assert(calls == 0, "the handler did not run")
        h:unregister()
        h = Hook.register("AfterAgentExecution", function(ctx)
            return { action = "cancel", reason = "output withheld" }
        end, { component = "guarded" })
        fails_with(function() return a:invoke({}) end, "output withheld")
        assert(calls == 1)
        h:unregister()
        -- at the Error point a cancel leaves the error standing, reported as cancelled
        local cancelled = Event.subscribe("agent.guarded.cancelled")
        h = Hook.register("AgentError", function(ctx)
            return { action = "cancel", reason = "unused reason" }
        end, { component = "guarded" })
        fails_with(function() return a:invoke({ fail = true }) end, "handler failure")
        h:unregister()
        local ev = Event.receive(cancelled, 5000)
        assert(ev and ev.data.reason:find("handler failure", 1, true), JSON.encode(ev))

        local ran = {}
        local function step(name, extra)
            local s = { name = name, fn = function() table.insert(ran, name) return name end }
            for k, v in pairs(extra or {}) do s[k] = v end
            return s
        end
        local wf = Workflow.sequential({ name = "cancel_wf", steps = {
            step("one"), step("two", { on_error = "continue" }), step("three") } })
        local function run_cancelled(point, when, reason)
            ran = {}
            local hh = Hook.register(point, function(ctx)
                if when(ctx) then return { action = "cancel", reason = reason } end
            end, { component = "cancel_wf" })
            fails_with(function() return wf:execute({}) end, reason)
            hh:unregister()
            return table.concat(ran, ",")
        end
        local always = function() return true end
        local at = function(name) return function(ctx) return ctx.metadata.step == name end end
        assert(run_cancelled("BeforeWorkflowStart", always, "closed for maintenance") == "")
        assert(run_cancelled("BeforeWorkflowStage", at("two"), "stop at two") == "one",
            "a cancel stops the run whatever the step's error policy")
        assert(run_cancelled("AfterWorkflowStage", at("one"), "bad output") == "one")
        assert(run_cancelled("AfterWorkflowComplete", always, "result withheld") == "one,two,three")

        local bad = Workflow.sequential({ name = "cancel_bad", steps = {
            { name = "x", fn = function() error("the step's own failure") end } } })
        local run_cancelled_ev = Event.subscribe("workflow.cancel_bad.cancelled")
        Hook.register("WorkflowError", function(ctx)
            return { action = "cancel", reason = "unused reason" }
        end, { component = "cancel_bad" })
        fails_with(function() return bad:execute({}) end, "the step's own failure")
        ev = Event.receive(run_cancelled_ev, 5000)
        assert(ev and ev.data.reason:find("the step's own failure", 1, true), JSON.encode(ev))
    "#,
    );
}

#[test]
fn redirect_runs_another_agent_another_workflow_or_another_step_target() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local runs = {}
        local function agent(name, fail)
            return Agent.create({ name = name, handler = function(input)
                table.insert(runs, name)
                if fail then error(name .. " is down") end
                return { by = name, got = input }
            end })
        end
        local primary = agent("primary")
        agent("backup")
        local broken = agent("broken", true)
        agent("broken_step", true)

        local h = Hook.register("BeforeAgentExecution", function(ctx)
            return { action = "redirect", target = "backup" }
        end, { component = "primary" })
        local out = primary:invoke({ q = 1 })
        assert(out.by == "backup" and out.got.q == 1, JSON.encode(out))
        assert(table.concat(runs, ",") == "backup", table.concat(runs, ","))
        h:unregister()

        runs = {}
        h = Hook.register("AfterAgentExecution", function(ctx)
            if ctx.data.by == "primary" then return { action = "redirect", target = "backup" } end
        end, { component = "primary" })
        out = primary:invoke({ q = 2 })
        assert(out.by == "backup" and out.got.q == 2)
        assert(table.concat(runs, ",") == "primary,backup", table.concat(runs, ","))
        h:unregister()

        runs = {}
        Hook.register("AgentError", function(ctx)
            return { action = "redirect", target = "backup" }
        end, { component = "broken" })
        out = broken:invoke({ q = 3 })
        assert(out.by == "backup" and out.got.q == 3, "the target ran as a fallback")
        assert(table.concat(runs, ",") == "broken,backup", table.concat(runs, ","))

        -- whole workflows: another registered workflow runs
        runs = {}
        Workflow.sequential({ name = "v2", steps = {
            { name = "new", fn = function(input) table.insert(runs, "v2") return { v2 = input } end } } })
        local v1 = Workflow.sequential({ name = "v1", steps = {
            { name = "old", fn = function() table.insert(runs, "v1") return "v1" end } } })
        h = Hook.register("BeforeWorkflowStart", function(ctx)
            return { action = "redirect", target = "v2" }
        end, { component = "v1" })
        local r = v1:execute({ k = 1 })
        assert(r.outputs.new.v2.k == 1 and r.outputs.old == nil, JSON.encode(r.outputs))
        assert(table.concat(runs, ",") == "v2", table.concat(runs, ","))
        h:unregister()
        runs = {}
        h = Hook.register("AfterWorkflowComplete", function(ctx)
            if ctx.data.outputs and ctx.data.outputs.old then return { action = "redirect", target = "v2" } end
        end, { component = "v1" })
        r = v1:execute({ k = 2 })
        assert(r.outputs.new.v2.k == 2)
        assert(table.concat(runs, ",") == "v1,v2", table.concat(runs, ","))
        h:unregister()
        h = Hook.register("BeforeWorkflowStart", function(ctx)
            return { action = "redirect", target = "nowhere" }
        end, { component = "v1" })
        local ok, e = pcall(function() return v1:execute({}) end)
        assert(not ok and tostring(e):find('workflow "nowhere" not found', 1, true), tostring(e))
        h:unregister()

        -- steps: an agent step to another agent, a tool step to another tool,
        -- a failing step to a fallback agent
        runs = {}
        Tool.register({ name = "echo_tool", handler = function(p) return { echoed = p } end })
        local wf = Workflow.sequential({ name = "stage_redirect", steps = {
            { name = "ask", agent = "primary", input = { q = 4 } },
            { name = "calc", tool = "calculator", input = { expression = "1 + 1" } },
            { name = "fallback", agent = "broken_step", input = { q = 5 } },
        } })
        Hook.register("BeforeWorkflowStage", function(ctx)
            if ctx.metadata.step == "ask" then return { action = "redirect", target = "backup" } end
            if ctx.metadata.step == "calc" then return { action = "redirect", target = "echo_tool" } end
        end, { component = "stage_redirect" })
        Hook.register("WorkflowError", function(ctx)
            if ctx.metadata.step == "fallback" then return { action = "redirect", target = "backup" } end
        end, { component = "stage_redirect" })
        r = wf:execute({})
        assert(r.success, JSON.encode(r.errors))
        assert(r.outputs.ask.by == "backup" and r.outputs.ask.got.q == 4, JSON.encode(r.outputs.ask))
        assert(r.outputs.calc.echoed.expression == "1 + 1", JSON.encode(r.outputs.calc))
        assert(r.outputs.fallback.by == "backup" and r.outputs.fallback.got.q == 5)
        assert(table.concat(runs, ",") == "backup,broken_step,backup", table.concat(runs, ","))
    "#,
    );
}

#[test]
fn replace_answers_without_running_the_handler_or_the_steps() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local calls = 0
        local a = Agent.create({ name = "costly", handler = function(input)
            calls = calls + 1
            if input.fail then error("costly failed") end
            return { computed = true }
        end })
        local h = Hook.register("BeforeAgentExecution", function(ctx)
            return { action = "replace", value = { canned = true } }
        end, { component = "costly" })
        local out = a:invoke({})
        assert(out.canned == true and out.computed == nil and calls == 0)
        h:unregister()
        h = Hook.register("AfterAgentExecution", function(ctx)
            return { action = "replace", value = { replaced = "after" } }
        end, { component = "costly" })
        out = a:invoke({})
        assert(out.replaced == "after" and out.computed == nil and calls == 1)
        h:unregister()
        Hook.register("AgentError", function(ctx)
            return { action = "replace", value = { fallback = ctx.data.message } }
        end, { component = "costly" })
        out = a:invoke({ fail = true })
        assert(calls == 2 and out.fallback:find("costly failed", 1, true), JSON.encode(out))

        local ran = {}
        local wf = Workflow.sequential({ name = "rep_wf", steps = {
            { name = "skipme", fn = function() table.insert(ran, "skipme") return "ran" end },
            { name = "shaped", fn = function() table.insert(ran, "shaped") return "raw" end },
            { name = "failing", fn = function() table.insert(ran, "failing") error("failing step") end },
        } })
        Hook.register("BeforeWorkflowStage", function(ctx)
            if ctx.metadata.step == "skipme" then return { action = "replace", value = "from the before hook" } end
        end, { component = "rep_wf" })
        Hook.register("AfterWorkflowStage", function(ctx)
            if ctx.metadata.step == "shaped" then return { action = "replace", value = "from the after hook" } end
        end, { component = "rep_wf" })
        Hook.register("WorkflowError", function(ctx)
            if ctx.metadata.step == "failing" then return { action = "replace", value = "from the error hook" } end
        end, { component = "rep_wf" })
        local r = wf:execute({})
        assert(r.success and #r.errors == 0, JSON.encode(r.errors))
        assert(r.outputs.skipme == "from the before hook")
        assert(r.outputs.shaped == "from the after hook")
        assert(r.outputs.failing == "from the error hook")
        assert(table.concat(ran, ",") == "shaped,failing", table.concat(ran, ","))

        ran = {}
        local whole = Workflow.sequential({ name = "rep_whole", steps = {
            { name = "s", fn = function(input) table.insert(ran, "s") if input.fail then error("run failed") end return 1 end } } })
        h = Hook.register("BeforeWorkflowStart", function(ctx)
            return { action = "replace", value = { summary = "canned" } }
        end, { component = "rep_whole" })
        r = whole:execute({})
        assert(r.summary == "canned" and r.outputs == nil and #ran == 0, JSON.encode(r))
        h:unregister()
        h = Hook.register("AfterWorkflowComplete", function(ctx)
            return { action = "replace", value = "just a string" }
        end, { component = "rep_whole" })
        assert(whole:execute({}) == "just a string")
        assert(#ran == 1)
        h:unregister()
        Hook.register("WorkflowError", function(ctx)
            if ctx.metadata.step == nil then return { action = "replace", value = { recovered = ctx.data.message } } end
        end, { component = "rep_whole" })
        r = whole:execute({ fail = true })
        assert(r.recovered:find("run failed", 1, true), JSON.encode(r))
    "#,
    );
}

#[test]
fn retry_reruns_failing_handlers_steps_and_workflows() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local runs, attempts = 0, {}
        local flaky = Agent.create({ name = "flaky", handler = function(input, agent)
            runs = runs + 1
            table.insert(attempts, agent:attempt())
            if runs < 3 then error("transient " .. runs) end
            return { runs = runs, attempt = agent:attempt() }
        end })
        Hook.register("AgentError", function(ctx)
            return { action = "retry", delay_ms = 1, max_attempts = 5 }
        end, { component = "flaky" })
        local out = flaky:invoke({})
        assert(out.runs == 3 and out.attempt == 3, JSON.encode(out))
        assert(table.concat(attempts, ",") == "1,2,3", table.concat(attempts, ","))
        assert(flaky:state() == "Ready", flaky:state())

        local down_runs = 0
        local down = Agent.create({ name = "down", handler = function()
            down_runs = down_runs + 1
            error("still down")
        end })
        Hook.register("AgentError", function(ctx)
            return { action = "retry", max_attempts = 2 }
        end, { component = "down" })
        local ok, e = pcall(function() return down:invoke({}) end)
        assert(not ok and tostring(e):find("still down", 1, true), tostring(e))
        assert(down_runs == 2, "max_attempts counts every attempt: " .. down_runs)

        local gate, gated_runs = {}, 0
        local gated = Agent.create({ name = "gated", handler = function()
            gated_runs = gated_runs + 1
            return "done"
        end })
        Hook.register("BeforeAgentExecution", function(ctx)
            table.insert(gate, ctx.attempt)
            if ctx.attempt ~= 3 then return { action = "retry", max_attempts = 5 } end
        end, { component = "gated" })
        assert(gated:invoke({}) == "done")
        assert(gated_runs == 1 and table.concat(gate, ",") == "1,2,3", table.concat(gate, ","))

        local drafts = 0
        local writer = Agent.create({ name = "writer", handler = function()
            drafts = drafts + 1
            return { draft = drafts }
        end })
        Hook.register("AfterAgentExecution", function(ctx)
            if ctx.data.draft < 2 then return { action = "retry", max_attempts = 4 } end
        end, { component = "writer" })
        assert(writer:invoke({}).draft == 2 and drafts == 2)

        -- a step: failing twice, re-run by a WorkflowError hook
        local step_runs, stage_attempts = 0, {}
        local wf = Workflow.sequential({ name = "retry_wf", steps = {
            { name = "flaky", fn = function()
                step_runs = step_runs + 1
                if step_runs < 3 then error("flaky " .. step_runs) end
                return step_runs
            end },
            { name = "polish", fn = function() step_runs = step_runs + 100 return step_runs end },
        } })
        Hook.register("BeforeWorkflowStage", function(ctx)
            if ctx.metadata.step == "flaky" then table.insert(stage_attempts, ctx.attempt) end
        end, { component = "retry_wf" })
        Hook.register("WorkflowError", function(ctx)
            if ctx.metadata.step == "flaky" then return { action = "retry", max_attempts = 5 } end
        end, { component = "retry_wf" })
        Hook.register("AfterWorkflowStage", function(ctx)
            if ctx.metadata.step == "polish" and ctx.data < 300 then return { action = "retry", max_attempts = 5 } end
        end, { component = "retry_wf" })
        local r = wf:execute({})
        assert(r.success and r.outputs.flaky == 3, JSON.encode(r.outputs))
        assert(table.concat(stage_attempts, ",") == "1,2,3", table.concat(stage_attempts, ","))
        assert(r.outputs.polish == 303, "the After hook re-ran the step until it passed: " .. tostring(r.outputs.polish))

        -- the whole workflow, re-run by a hook at its own error point
        local whole_runs, starts = 0, {}
        local whole = Workflow.sequential({ name = "retry_whole", steps = {
            { name = "once_bad", fn = function()
                whole_runs = whole_runs + 1
                if whole_runs == 1 then error("first run fails") end
                return whole_runs
            end } } })
        Hook.register("BeforeWorkflowStart", function(ctx)
            table.insert(starts, ctx.attempt)
        end, { component = "retry_whole" })
        Hook.register("WorkflowError", function(ctx)
            if ctx.metadata.step == nil then return { action = "retry", max_attempts = 3 } end
        end, { component = "retry_whole" })
        r = whole:execute({})
        assert(r.outputs.once_bad == 2 and table.concat(starts, ",") == "1,2", table.concat(starts, ","))

        -- a Before hook that keeps asking: cancelled at the limit, the step never runs
        local never = 0
        local held = Workflow.sequential({ name = "retry_held", steps = {
            { name = "s", fn = function() never = never + 1 end } } })
        Hook.register("BeforeWorkflowStage", function(ctx)
            return { action = "retry", max_attempts = 2 }
        end, { component = "retry_held", name = "quota" })
        ok, e = pcall(function() return held:execute({}) end)
        assert(not ok and tostring(e):find("the limit of 2 attempt(s) is reached", 1, true), tostring(e))
        assert(never == 0)
    "#,
    );
}

#[test]
fn fork_runs_the_extra_agents_and_workflows_and_reports_them() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local audited = {}
        Agent.create({ name = "auditor", handler = function(input)
            table.insert(audited, input.what)
            return { audited = input.what }
        end })
        local main_runs = 0
        local main = Agent.create({ name = "main", handler = function(input)
            main_runs = main_runs + 1
            if input.fail then error("main failed") end
            return { answer = 42 }
        end })
        local forked = Event.subscribe("agent.main.forked")
        Hook.register("BeforeAgentExecution", function(ctx)
            if not ctx.data.fail then
                return { action = "fork", operations = { { target = "auditor", input = { what = "before" } } } }
            end
        end, { component = "main" })
        Hook.register("AgentError", function(ctx)
            return { action = "fork", operations = { { target = "auditor", input = { what = "error" } } } }
        end, { component = "main" })
        local out = main:invoke({})
        assert(out.answer == 42 and main_runs == 1, JSON.encode(out))
        assert(table.concat(audited, ",") == "before", table.concat(audited, ","))
        local ev = Event.receive(forked, 5000)
        assert(ev and ev.data.target == "auditor" and ev.data.ok == true, JSON.encode(ev))
        assert(ev.data.output.audited == "before")
        local ok, e = pcall(function() return main:invoke({ fail = true }) end)
        assert(not ok and tostring(e):find("main failed", 1, true), "the error stands: " .. tostring(e))
        assert(table.concat(audited, ",") == "before,error", table.concat(audited, ","))
        ev = Event.receive(forked, 5000)
        assert(ev and ev.data.output.audited == "error", JSON.encode(ev))

        local audit_runs = {}
        Workflow.sequential({ name = "audit_wf", steps = {
            { name = "log", fn = function(input) table.insert(audit_runs, input.run) return { logged = input.run } end } } })
        Agent.create({ name = "worker", handler = function(input) return { worked = input.q } end })
        local wf = Workflow.sequential({ name = "fork_wf", steps = {
            { name = "ask", agent = "worker", input = { q = 1 } } } })
        local wf_forked = Event.subscribe("workflow.fork_wf.forked")
        local step_forked = Event.subscribe("workflow.fork_wf.step.ask.forked")
        Hook.register("BeforeWorkflowStart", function(ctx)
            return { action = "fork", operations = { { target = "audit_wf", input = { run = "fork_wf" } } } }
        end, { component = "fork_wf" })
        Hook.register("BeforeWorkflowStage", function(ctx)
            if ctx.metadata.step == "ask" then
                return { action = "fork", operations = {
                    { target = "auditor", input = { what = "stage" } },
                    { target = "nobody", input = {} } } }
            end
        end, { component = "fork_wf" })
        local r = wf:execute({})
        assert(r.success and r.outputs.ask.worked == 1, JSON.encode(r))
        assert(table.concat(audit_runs, ",") == "fork_wf", "the forked workflow ran once")
        assert(audited[#audited] == "stage" and #audited == 3, table.concat(audited, ","))
        ev = Event.receive(wf_forked, 5000)
        assert(ev and ev.data.target == "audit_wf" and ev.data.ok == true, JSON.encode(ev))
        assert(ev.data.output.outputs.log.logged == "fork_wf", JSON.encode(ev.data))
        local reports = {}
        for _ = 1, 2 do
            local s = Event.receive(step_forked, 5000)
            assert(s, "a step fork was not reported")
            reports[s.data.target] = s.data
        end
        assert(reports.auditor.ok == true and reports.auditor.output.audited == "stage")
        assert(reports.nobody.ok == false and reports.nobody.error.kind == "not_found",
            "an unknown fork target is reported, not fatal: " .. JSON.encode(reports.nobody))
    "#,
    );
}

#[test]
fn cache_serves_repeated_calls_without_running_the_handler_or_the_steps() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local runs, hits = 0, {}
        local memo = Agent.create({ name = "memo", handler = function(input)
            runs = runs + 1
            return { sq = input.n * input.n, run = runs }
        end })
        Hook.register("BeforeAgentExecution", function(ctx)
            return { action = "cache", key = "memo:" .. ctx.data.n, ttl_ms = 60000 }
        end, { component = "memo" })
        Hook.register("AfterAgentExecution", function(ctx)
            table.insert(hits, ctx.cache_hit and "true" or "ran")
        end, { component = "memo" })
        local first, second = memo:invoke({ n = 9 }), memo:invoke({ n = 9 })
        assert(first.sq == 81 and second.sq == 81 and second.run == 1, JSON.encode(second))
        assert(runs == 1, "the second call ran the handler")
        assert(table.concat(hits, ",") == "ran,true", table.concat(hits, ","))
        assert(memo:invoke({ n = 3 }).sq == 9 and runs == 2, "another key runs the handler")

        local step_runs, stage_hits = 0, {}
        local wf = Workflow.sequential({ name = "cache_wf", steps = {
            { name = "slow", fn = function(input) step_runs = step_runs + 1 return { run = step_runs, k = input.k } end },
            { name = "cheap", fn = function() return "always runs" end },
        } })
        Hook.register("BeforeWorkflowStage", function(ctx)
            if ctx.metadata.step == "slow" then return { action = "cache", key = "slow:" .. ctx.data.k } end
        end, { component = "cache_wf" })
        Hook.register("AfterWorkflowStage", function(ctx)
            if ctx.metadata.step == "slow" then table.insert(stage_hits, ctx.cache_hit and "true" or "ran") end
        end, { component = "cache_wf" })
        local r1, r2 = wf:execute({ k = 1 }), wf:execute({ k = 1 })
        assert(step_runs == 1 and r2.outputs.slow.run == 1 and r2.outputs.slow.k == 1, JSON.encode(r2.outputs))
        assert(r2.outputs.cheap == "always runs")
        assert(table.concat(stage_hits, ",") == "ran,true", table.concat(stage_hits, ","))

        local whole_runs = 0
        local whole = Workflow.sequential({ name = "cache_whole", steps = {
            { name = "s", fn = function(input)
                whole_runs = whole_runs + 1
                if input.fail then error("not cacheable") end
                return whole_runs
            end } } })
        Hook.register("BeforeWorkflowStart", function(ctx)
            if not ctx.data.fail then return { action = "cache", key = "whole:" .. ctx.data.k } end
        end, { component = "cache_whole" })
        Hook.register("WorkflowError", function(ctx)
            return { action = "cache", key = "whole:error" }
        end, { component = "cache_whole" })
        local w1, w2 = whole:execute({ k = 1 }), whole:execute({ k = 1 })
        assert(whole_runs == 1 and w2.outputs.s == 1 and w2.success, JSON.encode(w2))
        -- at an Error point a cache result is ignored: the error stands each time
        for _ = 1, 2 do
            local ok, e = pcall(function() return whole:execute({ fail = true }) end)
            assert(not ok and tostring(e):find("not cacheable", 1, true), tostring(e))
        end
        assert(whole_runs == 3)
    "#,
    );
}

#[test]
fn skip_and_continue_change_nothing() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local calls, step_runs = 0, 0
        local a = Agent.create({ name = "plain", handler = function(input)
            calls = calls + 1
            if input.fail then error("plain failure") end
            return { got = input.v }
        end })
        local wf = Workflow.sequential({ name = "plain_wf", steps = {
            { name = "s", fn = function(input) step_runs = step_runs + 1 return { v = input.v } end },
            { name = "t", fn = function() error("tolerated") end, on_error = "continue" },
        } })
        local bad = Workflow.sequential({ name = "plain_bad", steps = {
            { name = "x", fn = function() error("plain workflow failure") end } } })
        local function exercise()
            local got = {}
            got.out = a:invoke({ v = 1 }).got
            local ok, e = pcall(function() return a:invoke({ fail = true }) end)
            got.agent_failed = not ok and tostring(e):find("plain failure", 1, true) ~= nil
            local r = wf:execute({ v = 2 })
            got.wf = r.outputs.s.v
            got.success = r.success
            got.errors = #r.errors .. ":" .. r.errors[1].step
            local ok2, e2 = pcall(function() return bad:execute({}) end)
            got.wf_failed = not ok2 and tostring(e2):find("plain workflow failure", 1, true) ~= nil
            return got
        end
        local baseline = exercise()
        assert(baseline.out == 1 and baseline.agent_failed and baseline.wf == 2)
        assert(baseline.success == false and baseline.errors == "1:t" and baseline.wf_failed)

        local fired = {}
        local points = { "BeforeAgentExecution", "AfterAgentExecution", "AgentError",
            "BeforeWorkflowStart", "AfterWorkflowComplete", "BeforeWorkflowStage",
            "AfterWorkflowStage", "WorkflowError" }
        local results = { "skip", { action = "skip", reason = "not mine" }, "continue",
            { action = "continue" }, false }
        for _, p in ipairs(points) do
            for _, result in ipairs(results) do
                Hook.register(p, function(ctx)
                    fired[p] = (fired[p] or 0) + 1
                    if result then return result end
                end)
            end
        end
        local hooked = exercise()
        for k, v in pairs(baseline) do
            assert(hooked[k] == v, k .. ": " .. tostring(hooked[k]) .. " ~= " .. tostring(v))
        end
        assert(calls == 4 and step_runs == 2, calls .. " " .. step_runs)
        for _, p in ipairs(points) do
            assert((fired[p] or 0) > 0, p .. " never fired")
        end
    "#,
    );
}
