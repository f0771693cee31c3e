//! Every hook action returned by a JavaScript hook on agent invocations
//! (`a.invoke`: `BeforeAgentExecution`, `AfterAgentExecution`, `AgentError`)
//! and on workflow runs (`wf.execute`: `BeforeWorkflowStart`,
//! `AfterWorkflowComplete`, `BeforeWorkflowStage`, `AfterWorkflowStage`,
//! `WorkflowError`), checked by what the script sees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, runtime};

/// Assertion helpers every script starts with.
const PRELUDE: &str = r#"
const assert = (c, m) => { if (!c) throw new Error(m || ("assertion failed " + new Error().stack.split("\n")[1].trim())); };
const rejects = async (f, text) => {
    let err = null;
    try { await f(); } catch (e) { err = String(e && e.message !== undefined ? e.message : e); }
    assert(err !== null, "expected an error containing " + text);
    assert(err.includes(text), err);
};
"#;

fn run(src: &str) {
    let rt = runtime();
    js(&rt, &format!("{PRELUDE}{src}"));
}

#[test]
fn modified_reaches_agent_handlers_workflow_steps_and_results() {
    run(r#"
        const seen = [];
        const echo = await Agent.create({ name: "echo", handler: (input) => {
            seen.push(input.text || "fail");
            if (input.fail) throw new Error("original failure");
            return { echo: input.text };
        } });
        Hook.register("BeforeAgentExecution", (ctx) => {
            if (ctx.data.text === "before") return { action: "modified", data: { text: "changed by hook" } };
        }, { component: "echo" });
        Hook.register("AfterAgentExecution", (ctx) => {
            if (ctx.data.echo === "after") return { action: "modified", data: { echo: "after", stamped: true } };
        }, { component: "echo" });
        Hook.register("AgentError", () => ({ action: "modified", data: { kind: "execution", message: "rewritten by hook" } }),
            { component: "echo" });

        assert((await echo.invoke({ text: "before" })).echo === "changed by hook");
        assert(seen[0] === "changed by hook", "the handler got the modified input");
        const out = await echo.invoke({ text: "after" });
        assert(out.echo === "after" && out.stamped === true, JSON.stringify(out));
        let err = null;
        try { await echo.invoke({ fail: true }); } catch (e) { err = e.message; }
        assert(err && err.includes("rewritten by hook") && !err.includes("original failure"), err);

        const wf = Workflow.sequential({ name: "mod_wf", steps: [
            { name: "first", fn: (input) => ({ got: input }) },
            { name: "second", fn: (input) => ({ got: input }), input: { n: 1 } },
        ] });
        Hook.register("BeforeWorkflowStart", () => ({ action: "modified", data: { who: "start hook" } }),
            { component: "mod_wf" });
        Hook.register("BeforeWorkflowStage", (ctx) => {
            if (ctx.metadata.step === "second") return { action: "modified", data: { n: ctx.data.n + 41 } };
        }, { component: "mod_wf" });
        Hook.register("AfterWorkflowStage", (ctx) => {
            if (ctx.metadata.step === "first") return { action: "modified", data: { got: ctx.data.got, checked: true } };
        }, { component: "mod_wf" });
        Hook.register("AfterWorkflowComplete", (ctx) => ({ action: "modified", data: { ...ctx.data, stamped: true } }),
            { component: "mod_wf" });
        const r = await wf.execute({ who: "caller" });
        assert(r.outputs.first.got.who === "start hook", JSON.stringify(r.outputs));
        assert(r.outputs.first.checked === true, "the recorded output is the modified one");
        assert(r.outputs.second.got.n === 42, JSON.stringify(r.outputs.second));
        assert(r.stamped === true && r.success === true);

        const bad = Workflow.sequential({ name: "mod_bad", steps: [
            { name: "boom", fn: () => { throw new Error("original failure"); } }] });
        Hook.register("WorkflowError", (ctx) => {
            if (ctx.metadata.step === "boom") return { action: "modified", data: { kind: "execution", message: "step error rewritten" } };
        }, { component: "mod_bad" });
        err = null;
        try { await bad.execute({}); } catch (e) { err = e.message; }
        assert(err && err.includes("step error rewritten") && !err.includes("original failure"), err);
    "#);
}

#[test]
fn cancel_rejects_with_the_reason_and_stops_the_handler_or_the_steps() {
    run(r#"
        let calls = 0;
        const a = await Agent.create({ name: "guarded", handler: (input) => {
            calls++;
            if (input.fail) throw new Error("handler failure");
            return { ok: true };
        } });
        let h = Hook.register("BeforeAgentExecution", () => ({ action: "cancel", reason: "not before noon" }),
            { component: "guarded", name: "clock" });
        await rejects(() => a.invoke({}), 'cancelled by hook "clock": not before noon');
        assert(calls === 0, "the handler did not run");
        h.unregister();
        h = Hook.register("AfterAgentExecution", () => ({ action: "cancel", reason: "output withheld" }),
            { component: "guarded" });
        await rejects(() => a.invoke({}), "output withheld");
        assert(calls === 1);
        h.unregister();
        // at the Error point a cancel leaves the error standing, reported as cancelled
        const cancelled = Event.subscribe("agent.guarded.cancelled");
        h = Hook.register("AgentError", () => ({ action: "cancel", reason: "unused reason" }), { component: "guarded" });
        await rejects(() => a.invoke({ fail: true }), "handler failure");
        h.unregister();
        let ev = await Event.receive(cancelled, 5000);
        assert(ev && ev.data.reason.includes("handler failure"), JSON.stringify(ev));

        let ran = [];
        const step = (name, extra) => ({ name, fn: () => { ran.push(name); return name; }, ...(extra || {}) });
        const wf = Workflow.sequential({ name: "cancel_wf", steps: [
            step("one"), step("two", { on_error: "continue" }), step("three")] });
        const runCancelled = async (point, when, reason) => {
            ran = [];
            const hh = Hook.register(point, (ctx) => (when(ctx) ? { action: "cancel", reason } : undefined),
                { component: "cancel_wf" });
            await rejects(() => wf.execute({}), reason);
            hh.unregister();
            return ran.join(",");
        };
        const always = () => true;
        const at = (name) => (ctx) => ctx.metadata.step === name;
        assert(await runCancelled("BeforeWorkflowStart", always, "closed for maintenance") === "");
        assert(await runCancelled("BeforeWorkflowStage", at("two"), "stop at two") === "one",
            "a cancel stops the run whatever the step's error policy");
        assert(await runCancelled("AfterWorkflowStage", at("one"), "bad output") === "one");
        assert(await runCancelled("AfterWorkflowComplete", always, "result withheld") === "one,two,three");

        const bad = Workflow.sequential({ name: "cancel_bad", steps: [
            { name: "x", fn: () => { throw new Error("the step's own failure"); } }] });
        const runCancelledEv = Event.subscribe("workflow.cancel_bad.cancelled");
        Hook.register("WorkflowError", () => ({ action: "cancel", reason: "unused reason" }), { component: "cancel_bad" });
        await rejects(() => bad.execute({}), "the step's own failure");
        ev = await Event.receive(runCancelledEv, 5000);
        assert(ev && ev.data.reason.includes("the step's own failure"), JSON.stringify(ev));
    "#);
}

#[test]
fn redirect_runs_another_agent_another_workflow_or_another_step_target() {
    run(r#"
        let runs = [];
        const agent = (name, fail) => Agent.create({ name, handler: (input) => {
            runs.push(name);
            if (fail) throw new Error(name + " is down");
            return { by: name, got: input };
        } });
        const primary = await agent("primary");
        await agent("backup");
        const broken = await agent("broken", true);
        await agent("broken_step", true);

        let h = Hook.register("BeforeAgentExecution", () => ({ action: "redirect", target: "backup" }), { component: "primary" });
        let out = await primary.invoke({ q: 1 });
        assert(out.by === "backup" && out.got.q === 1, JSON.stringify(out));
        assert(runs.join(",") === "backup", runs.join(","));
        h.unregister();

        runs = [];
        h = Hook.register("AfterAgentExecution", (ctx) =>
            (ctx.data.by === "primary" ? { action: "redirect", target: "backup" } : undefined), { component: "primary" });
        out = await primary.invoke({ q: 2 });
        assert(out.by === "backup" && out.got.q === 2);
        assert(runs.join(",") === "primary,backup", runs.join(","));
        h.unregister();

        runs = [];
        Hook.register("AgentError", () => ({ action: "redirect", target: "backup" }), { component: "broken" });
        out = await broken.invoke({ q: 3 });
        assert(out.by === "backup" && out.got.q === 3, "the target ran as a fallback");
        assert(runs.join(",") === "broken,backup", runs.join(","));

        // whole workflows: another registered workflow runs
        runs = [];
        Workflow.sequential({ name: "v2", steps: [{ name: "new", fn: (input) => { runs.push("v2"); return { v2: input }; } }] });
        const v1 = Workflow.sequential({ name: "v1", steps: [{ name: "old", fn: () => { runs.push("v1"); return "v1"; } }] });
        h = Hook.register("BeforeWorkflowStart", () => ({ action: "redirect", target: "v2" }), { component: "v1" });
        let r = await v1.execute({ k: 1 });
        assert(r.outputs.new.v2.k === 1 && r.outputs.old === undefined, JSON.stringify(r.outputs));
        assert(runs.join(",") === "v2", runs.join(","));
        h.unregister();
        runs = [];
        h = Hook.register("AfterWorkflowComplete", (ctx) =>
            (ctx.data.outputs && ctx.data.outputs.old ? { action: "redirect", target: "v2" } : undefined), { component: "v1" });
        r = await v1.execute({ k: 2 });
        assert(r.outputs.new.v2.k === 2);
        assert(runs.join(",") === "v1,v2", runs.join(","));
        h.unregister();
        h = Hook.register("BeforeWorkflowStart", () => ({ action: "redirect", target: "nowhere" }), { component: "v1" });
        await rejects(() => v1.execute({}), 'workflow "nowhere" not found');
        h.unregister();

        // steps: an agent step to another agent, a tool step to another tool,
        // a failing step to a fallback agent
        runs = [];
        Tool.register({ name: "echo_tool", handler: (p) => ({ echoed: p }) });
        const wf = Workflow.sequential({ name: "stage_redirect", steps: [
            { name: "ask", agent: "primary", input: { q: 4 } },
            { name: "calc", tool: "calculator", input: { expression: "1 + 1" } },
            { name: "fallback", agent: "broken_step", input: { q: 5 } },
        ] });
        Hook.register("BeforeWorkflowStage", (ctx) => {
            if (ctx.metadata.step === "ask") return { action: "redirect", target: "backup" };
            if (ctx.metadata.step === "calc") return { action: "redirect", target: "echo_tool" };
        }, { component: "stage_redirect" });
        Hook.register("WorkflowError", (ctx) => {
            if (ctx.metadata.step === "fallback") return { action: "redirect", target: "backup" };
        }, { component: "stage_redirect" });
        r = await wf.execute({});
        assert(r.success, JSON.stringify(r.errors));
        assert(r.outputs.ask.by === "backup" && r.outputs.ask.got.q === 4, JSON.stringify(r.outputs.ask));
        assert(r.outputs.calc.echoed.expression === "1 + 1", JSON.stringify(r.outputs.calc));
        assert(r.outputs.fallback.by === "backup" && r.outputs.fallback.got.q === 5);
        assert(runs.join(",") === "backup,broken_step,backup", runs.join(","));
    "#);
}

#[test]
fn replace_answers_without_running_the_handler_or_the_steps() {
    run(r#"
        let calls = 0;
        const a = await Agent.create({ name: "costly", handler: (input) => {
            calls++;
            if (input.fail) throw new Error("costly failed");
            return { computed: true };
        } });
        let h = Hook.register("BeforeAgentExecution", () => ({ action: "replace", value: { canned: true } }), { component: "costly" });
        let out = await a.invoke({});
        assert(out.canned === true && out.computed === undefined && calls === 0, JSON.stringify(out));
        h.unregister();
        h = Hook.register("AfterAgentExecution", () => ({ action: "replace", value: { replaced: "after" } }), { component: "costly" });
        out = await a.invoke({});
        assert(out.replaced === "after" && out.computed === undefined && calls === 1);
        h.unregister();
        Hook.register("AgentError", (ctx) => ({ action: "replace", value: { fallback: ctx.data.message } }), { component: "costly" });
        out = await a.invoke({ fail: true });
        assert(calls === 2 && out.fallback.includes("costly failed"), JSON.stringify(out));

        let ran = [];
        const wf = Workflow.sequential({ name: "rep_wf", steps: [
            { name: "skipme", fn: () => { ran.push("skipme"); return "ran"; } },
            { name: "shaped", fn: () => { ran.push("shaped"); return "raw"; } },
            { name: "failing", fn: () => { ran.push("failing"); throw new Error("failing step"); } },
        ] });
        Hook.register("BeforeWorkflowStage", (ctx) =>
            (ctx.metadata.step === "skipme" ? { action: "replace", value: "from the before hook" } : undefined), { component: "rep_wf" });
        Hook.register("AfterWorkflowStage", (ctx) =>
            (ctx.metadata.step === "shaped" ? { action: "replace", value: "from the after hook" } : undefined), { component: "rep_wf" });
        Hook.register("WorkflowError", (ctx) =>
            (ctx.metadata.step === "failing" ? { action: "replace", value: "from the error hook" } : undefined), { component: "rep_wf" });
        let r = await wf.execute({});
        assert(r.success && r.errors.length === 0, JSON.stringify(r.errors));
        assert(r.outputs.skipme === "from the before hook");
        assert(r.outputs.shaped === "from the after hook");
        assert(r.outputs.failing === "from the error hook");
        assert(ran.join(",") === "shaped,failing", ran.join(","));

        ran = [];
        const whole = Workflow.sequential({ name: "rep_whole", steps: [
            { name: "s", fn: (input) => { ran.push("s"); if (input.fail) throw new Error("run failed"); return 1; } }] });
        h = Hook.register("BeforeWorkflowStart", () => ({ action: "replace", value: { summary: "canned" } }), { component: "rep_whole" });
        r = await whole.execute({});
        assert(r.summary === "canned" && r.outputs === undefined && ran.length === 0, JSON.stringify(r));
        h.unregister();
        h = Hook.register("AfterWorkflowComplete", () => ({ action: "replace", value: "just a string" }), { component: "rep_whole" });
        assert(await whole.execute({}) === "just a string");
        assert(ran.length === 1);
        h.unregister();
        Hook.register("WorkflowError", (ctx) =>
            (ctx.metadata.step === undefined ? { action: "replace", value: { recovered: ctx.data.message } } : undefined),
            { component: "rep_whole" });
        r = await whole.execute({ fail: true });
        assert(r.recovered.includes("run failed"), JSON.stringify(r));
    "#);
}

#[test]
fn retry_reruns_failing_handlers_steps_and_workflows() {
    run(r#"
        let runs = 0;
        const attempts = [];
        const flaky = await Agent.create({ name: "flaky", handler: (input, agent) => {
            runs++;
            attempts.push(agent.attempt());
            if (runs < 3) throw new Error("transient " + runs);
            return { runs, attempt: agent.attempt() };
        } });
        Hook.register("AgentError", () => ({ action: "retry", delay_ms: 1, max_attempts: 5 }), { component: "flaky" });
        const out = await flaky.invoke({});
        assert(out.runs === 3 && out.attempt === 3, JSON.stringify(out));
        assert(attempts.join(",") === "1,2,3", attempts.join(","));
        assert(flaky.state() === "Ready", flaky.state());

        let downRuns = 0;
        const down = await Agent.create({ name: "down", handler: () => { downRuns++; throw new Error("still down"); } });
        Hook.register("AgentError", () => ({ action: "retry", max_attempts: 2 }), { component: "down" });
        await rejects(() => down.invoke({}), "still down");
        assert(downRuns === 2, "max_attempts counts every attempt: " + downRuns);

        const gate = [];
        let gatedRuns = 0;
        const gated = await Agent.create({ name: "gated", handler: () => { gatedRuns++; return "done"; } });
        Hook.register("BeforeAgentExecution", (ctx) => {
            gate.push(ctx.attempt);
            if (ctx.attempt !== 3) return { action: "retry", max_attempts: 5 };
        }, { component: "gated" });
        assert(await gated.invoke({}) === "done");
        assert(gatedRuns === 1 && gate.join(",") === "1,2,3", gate.join(","));

        let drafts = 0;
        const writer = await Agent.create({ name: "writer", handler: () => { drafts++; return { draft: drafts }; } });
        Hook.register("AfterAgentExecution", (ctx) =>
            (ctx.data.draft < 2 ? { action: "retry", max_attempts: 4 } : undefined), { component: "writer" });
        assert((await writer.invoke({})).draft === 2 && drafts === 2);

        // a step: failing twice, re-run by a WorkflowError hook
        let stepRuns = 0;
        const stageAttempts = [];
        const wf = Workflow.sequential({ name: "retry_wf", steps: [
            { name: "flaky", fn: () => {
                stepRuns++;
                if (stepRuns < 3) throw new Error("flaky " + stepRuns);
                return stepRuns;
            } },
            { name: "polish", fn: () => { stepRuns += 100; return stepRuns; } },
        ] });
        Hook.register("BeforeWorkflowStage", (ctx) => {
            if (ctx.metadata.step === "flaky") stageAttempts.push(ctx.attempt);
        }, { component: "retry_wf" });
        Hook.register("WorkflowError", (ctx) =>
            (ctx.metadata.step === "flaky" ? { action: "retry", max_attempts: 5 } : undefined), { component: "retry_wf" });
        Hook.register("AfterWorkflowStage", (ctx) =>
            (ctx.metadata.step === "polish" && ctx.data < 300 ? { action: "retry", max_attempts: 5 } : undefined),
            { component: "retry_wf" });
        let r = await wf.execute({});
        assert(r.success && r.outputs.flaky === 3, JSON.stringify(r.outputs));
        assert(stageAttempts.join(",") === "1,2,3", stageAttempts.join(","));
        assert(r.outputs.polish === 303, "the After hook re-ran the step until it passed: " + r.outputs.polish);

        // the whole workflow, re-run by a hook at its own error point
        let wholeRuns = 0;
        const starts = [];
        const whole = Workflow.sequential({ name: "retry_whole", steps: [
            { name: "once_bad", fn: () => {
                wholeRuns++;
                if (wholeRuns === 1) throw new Error("first run fails");
                return wholeRuns;
            } }] });
        Hook.register("BeforeWorkflowStart", (ctx) => { starts.push(ctx.attempt); }, { component: "retry_whole" });
        Hook.register("WorkflowError", (ctx) =>
            (ctx.metadata.step === undefined ? { action: "retry", max_attempts: 3 } : undefined), { component: "retry_whole" });
        r = await whole.execute({});
        assert(r.outputs.once_bad === 2 && starts.join(",") === "1,2", starts.join(","));

        // a Before hook that keeps asking: cancelled at the limit, the step never runs
        let never = 0;
        const held = Workflow.sequential({ name: "retry_held", steps: [{ name: "s", fn: () => { never++; } }] });
        Hook.register("BeforeWorkflowStage", () => ({ action: "retry", max_attempts: 2 }), { component: "retry_held", name: "quota" });
        await rejects(() => held.execute({}), "the limit of 2 attempt(s) is reached");
        assert(never === 0);
    "#);
}

#[test]
fn fork_runs_the_extra_agents_and_workflows_and_reports_them() {
    run(r#"
        const audited = [];
        await Agent.create({ name: "auditor", handler: (input) => { audited.push(input.what); return { audited: input.what }; } });
        let mainRuns = 0;
        const main = await Agent.create({ name: "main", handler: (input) => {
            mainRuns++;
            if (input.fail) throw new Error("main failed");
            return { answer: 42 };
        } });
        const forked = Event.subscribe("agent.main.forked");
        Hook.register("BeforeAgentExecution", (ctx) => (ctx.data.fail ? undefined
            : { action: "fork", operations: [{ target: "auditor", input: { what: "before" } }] }), { component: "main" });
        Hook.register("AgentError", () => ({ action: "fork", operations: [{ target: "auditor", input: { what: "error" } }] }),
            { component: "main" });
        const out = await main.invoke({});
        assert(out.answer === 42 && mainRuns === 1, JSON.stringify(out));
        assert(audited.join(",") === "before", audited.join(","));
        let ev = await Event.receive(forked, 5000);
        assert(ev && ev.data.target === "auditor" && ev.data.ok === true, JSON.stringify(ev));
        assert(ev.data.output.audited === "before");
        await rejects(() => main.invoke({ fail: true }), "main failed");
        assert(audited.join(",") === "before,error", audited.join(","));
        ev = await Event.receive(forked, 5000);
        assert(ev && ev.data.output.audited === "error", JSON.stringify(ev));

        const auditRuns = [];
        Workflow.sequential({ name: "audit_wf", steps: [
            { name: "log", fn: (input) => { auditRuns.push(input.run); return { logged: input.run }; } }] });
        await Agent.create({ name: "worker", handler: (input) => ({ worked: input.q }) });
        const wf = Workflow.sequential({ name: "fork_wf", steps: [{ name: "ask", agent: "worker", input: { q: 1 } }] });
        const wfForked = Event.subscribe("workflow.fork_wf.forked");
        const stepForked = Event.subscribe("workflow.fork_wf.step.ask.forked");
        Hook.register("BeforeWorkflowStart", () => ({ action: "fork", operations: [{ target: "audit_wf", input: { run: "fork_wf" } }] }),
            { component: "fork_wf" });
        Hook.register("BeforeWorkflowStage", (ctx) => (ctx.metadata.step === "ask"
            ? { action: "fork", operations: [{ target: "auditor", input: { what: "stage" } }, { target: "nobody", input: {} }] }
            : undefined), { component: "fork_wf" });
        const r = await wf.execute({});
        assert(r.success && r.outputs.ask.worked === 1, JSON.stringify(r));
        assert(auditRuns.join(",") === "fork_wf", "the forked workflow ran once");
        assert(audited.length === 3 && audited[2] === "stage", audited.join(","));
        ev = await Event.receive(wfForked, 5000);
        assert(ev && ev.data.target === "audit_wf" && ev.data.ok === true, JSON.stringify(ev));
        assert(ev.data.output.outputs.log.logged === "fork_wf", JSON.stringify(ev.data));
        const reports = {};
        for (let i = 0; i < 2; i++) {
            const s = await Event.receive(stepForked, 5000);
            assert(s, "a step fork was not reported");
            reports[s.data.target] = s.data;
        }
        assert(reports.auditor.ok === true && reports.auditor.output.audited === "stage");
        assert(reports.nobody.ok === false && reports.nobody.error.kind === "not_found",
            "an unknown fork target is reported, not fatal: " + JSON.stringify(reports.nobody));
    "#);
}

#[test]
fn cache_serves_repeated_calls_without_running_the_handler_or_the_steps() {
    run(r#"
        let runs = 0;
        const hits = [];
        const memo = await Agent.create({ name: "memo", handler: (input) => { runs++; return { sq: input.n * input.n, run: runs }; } });
        Hook.register("BeforeAgentExecution", (ctx) => ({ action: "cache", key: "memo:" + ctx.data.n, ttl_ms: 60000 }),
            { component: "memo" });
        Hook.register("AfterAgentExecution", (ctx) => { hits.push((ctx.cache_hit ? "true" : "ran")); }, { component: "memo" });
        const first = await memo.invoke({ n: 9 });
        const second = await memo.invoke({ n: 9 });
        assert(first.sq === 81 && second.sq === 81 && second.run === 1, JSON.stringify(second));
        assert(runs === 1, "the second call ran the handler");
        assert(hits.join(",") === "ran,true", hits.join(","));
        assert((await memo.invoke({ n: 3 })).sq === 9 && runs === 2, "another key runs the handler");

        let stepRuns = 0;
        const stageHits = [];
        const wf = Workflow.sequential({ name: "cache_wf", steps: [
            { name: "slow", fn: (input) => { stepRuns++; return { run: stepRuns, k: input.k }; } },
            { name: "cheap", fn: () => "always runs" },
        ] });
        Hook.register("BeforeWorkflowStage", (ctx) =>
            (ctx.metadata.step === "slow" ? { action: "cache", key: "slow:" + ctx.data.k } : undefined), { component: "cache_wf" });
        Hook.register("AfterWorkflowStage", (ctx) => {
            if (ctx.metadata.step === "slow") stageHits.push((ctx.cache_hit ? "true" : "ran"));
        }, { component: "cache_wf" });
        await wf.execute({ k: 1 });
        const r2 = await wf.execute({ k: 1 });
        assert(stepRuns === 1 && r2.outputs.slow.run === 1 && r2.outputs.slow.k === 1, JSON.stringify(r2.outputs));
        assert(r2.outputs.cheap === "always runs");
        assert(stageHits.join(",") === "ran,true", stageHits.join(","));

        let wholeRuns = 0;
        const whole = Workflow.sequential({ name: "cache_whole", steps: [
            { name: "s", fn: (input) => {
                wholeRuns++;
                if (input.fail) throw new Error("not cacheable");
                return wholeRuns;
            } }] });
        Hook.register("BeforeWorkflowStart", (ctx) =>
            (ctx.data.fail ? undefined : { action: "cache", key: "whole:" + ctx.data.k }), { component: "cache_whole" });
        Hook.register("WorkflowError", () => ({ action: "cache", key: "whole:error" }), { component: "cache_whole" });
        await whole.execute({ k: 1 });
        const w2 = await whole.execute({ k: 1 });
        assert(wholeRuns === 1 && w2.outputs.s === 1 && w2.success, JSON.stringify(w2));
        // at an Error point a cache result is ignored: the error stands each time
        for (let i = 0; i < 2; i++) await rejects(() => whole.execute({ fail: true }), "not cacheable");
        assert(wholeRuns === 3);
    "#);
}

#[test]
fn skip_and_continue_change_nothing() {
    run(r#"
        let calls = 0, stepRuns = 0;
        const a = await Agent.create({ name: "plain", handler: (input) => {
            calls++;
            if (input.fail) throw new Error("plain failure");
            return { got: input.v };
        } });
        const wf = Workflow.sequential({ name: "plain_wf", steps: [
            { name: "s", fn: (input) => { stepRuns++; return { v: input.v }; } },
            { name: "t", fn: () => { throw new Error("tolerated"); }, on_error: "continue" },
        ] });
        const bad = Workflow.sequential({ name: "plain_bad", steps: [
            { name: "x", fn: () => { throw new Error("plain workflow failure"); } }] });
        const exercise = async () => {
            const got = {};
            got.out = (await a.invoke({ v: 1 })).got;
            let err = "";
            try { await a.invoke({ fail: true }); } catch (e) { err = e.message; }
            got.agentFailed = err.includes("plain failure");
            const r = await wf.execute({ v: 2 });
            got.wf = r.outputs.s.v;
            got.success = r.success;
            got.errors = r.errors.length + ":" + r.errors[0].step;
            err = "";
            try { await bad.execute({}); } catch (e) { err = e.message; }
            got.wfFailed = err.includes("plain workflow failure");
            return got;
        };
        const baseline = await exercise();
        assert(baseline.out === 1 && baseline.agentFailed && baseline.wf === 2, JSON.stringify(baseline));
        assert(baseline.success === false && baseline.errors === "1:t" && baseline.wfFailed, JSON.stringify(baseline));

        const fired = {};
        const points = ["BeforeAgentExecution", "AfterAgentExecution", "AgentError",
            "BeforeWorkflowStart", "AfterWorkflowComplete", "BeforeWorkflowStage",
            "AfterWorkflowStage", "WorkflowError"];
        const results = ["skip", { action: "skip", reason: "not mine" }, "continue", { action: "continue" }, undefined, null];
        for (const p of points) {
            for (const result of results) {
                Hook.register(p, () => { fired[p] = (fired[p] || 0) + 1; return result; });
            }
        }
        const hooked = await exercise();
        assert(JSON.stringify(hooked) === JSON.stringify(baseline), JSON.stringify(hooked) + " vs " + JSON.stringify(baseline));
        assert(calls === 4 && stepRuns === 2, calls + " " + stepRuns);
        for (const p of points) assert((fired[p] || 0) > 0, p + " never fired");
    "#);
}
