//! Every built-in hook point has a test that fires it from the real
//! operation it belongs to (a tool call, an agent transition, a model call,
//! a workflow step, a state write, a session save, an event publish, …) and
//! checks that the hooks registered there ran and that their result took
//! effect (a `Cancel` refused the operation, a `Modified` changed it), or,
//! at points that only report, that the hooks saw the right data.
//!
//! [`FIRING_TESTS`] names those tests. A point added to [`HookPoint`]
//! without one fails here, a point removed while still listed fails here,
//! and an entry naming a test that does not exist, is not a test, does not
//! mention its point or fires the point by hand fails here.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use llmspell_hooks::HookPoint;

/// This file, for the failure messages.
const THIS_FILE: &str = "tests/tests/every_hook_point_has_a_firing_test.rs";

/// Point name → the tests that fire it from a real operation:
/// `(file relative to the workspace root, test function)`.
const FIRING_TESTS: &[(&str, &[(&str, &str)])] = &[
    // ---- System ----------------------------------------------------------
    (
        "SystemStartup",
        &[(
            RUNTIME_POINTS,
            "system_startup_fires_once_at_start_and_its_cancel_refuses_to_start",
        )],
    ),
    (
        "SystemShutdown",
        &[(
            RUNTIME_POINTS,
            "system_shutdown_and_session_end_fire_when_the_runtime_stops",
        )],
    ),
    (
        "ConfigurationChange",
        &[(
            RUNTIME_POINTS,
            "configuration_change_guards_every_change_of_a_running_runtime",
        )],
    ),
    (
        "ResourceLimitExceeded",
        &[(
            TOOL_LIMITS,
            "size_limits_are_typed_errors_that_fire_resource_limit_exceeded",
        )],
    ),
    (
        "SecurityViolation",
        &[(TOOL_LIMITS, "privileged_tools_need_a_privileged_caller")],
    ),
    // ---- Agent -----------------------------------------------------------
    (
        "BeforeAgentInit",
        &[(
            AGENT_TRANSITIONS,
            "cancel_at_the_cancellable_points_vetoes_the_transition",
        )],
    ),
    (
        "AfterAgentInit",
        &[(
            AGENT_TRANSITIONS,
            "after_init_and_after_shutdown_report_the_transition_they_completed",
        )],
    ),
    (
        "BeforeAgentExecution",
        &[
            (
                AGENT_STEERING,
                "modified_before_changes_the_input_and_after_the_output",
            ),
            (
                AGENT_STEERING,
                "cancel_before_skips_the_work_and_leaves_the_agent_ready",
            ),
        ],
    ),
    (
        "AfterAgentExecution",
        &[(
            AGENT_STEERING,
            "modified_before_changes_the_input_and_after_the_output",
        )],
    ),
    (
        "AgentPaused",
        &[(
            AGENT_TRANSITIONS,
            "cancel_at_the_cancellable_points_vetoes_the_transition",
        )],
    ),
    (
        "AgentResumed",
        &[(
            AGENT_TRANSITIONS,
            "cancel_at_the_cancellable_points_vetoes_the_transition",
        )],
    ),
    (
        "AgentError",
        &[
            (
                AGENT_STEERING,
                "replace_at_the_error_point_turns_a_failure_into_success",
            ),
            (AGENT_STEERING, "redirect_at_the_error_point_is_a_fallback"),
        ],
    ),
    (
        "AgentRecovering",
        &[(
            AGENT_TRANSITIONS,
            "cancel_at_the_cancellable_points_vetoes_the_transition",
        )],
    ),
    (
        "BeforeAgentShutdown",
        &[(
            AGENT_TRANSITIONS,
            "cancel_at_the_cancellable_points_vetoes_the_transition",
        )],
    ),
    (
        "AfterAgentShutdown",
        &[(
            AGENT_TRANSITIONS,
            "after_init_and_after_shutdown_report_the_transition_they_completed",
        )],
    ),
    // ---- LLM -------------------------------------------------------------
    (
        "BeforeLlmCall",
        &[(
            LLM_AGENTS,
            "before_llm_call_changes_what_the_server_receives_and_after_sees_usage",
        )],
    ),
    (
        "AfterLlmCall",
        &[(LLM_AGENTS, "after_llm_call_can_rewrite_the_answer")],
    ),
    (
        "LlmStreamChunk",
        &[
            (LLM_AGENTS, "streaming_fires_llm_stream_chunk_per_chunk"),
            (LLM_AGENTS, "a_cancel_at_a_stream_chunk_ends_the_call"),
        ],
    ),
    (
        "LlmError",
        &[(LLM_AGENTS, "llm_error_can_redirect_to_another_model")],
    ),
    // ---- Tool ------------------------------------------------------------
    (
        "BeforeToolDiscovery",
        &[(
            TOOL_CALLS,
            "discovery_hooks_can_rewrite_the_query_and_narrow_the_result",
        )],
    ),
    (
        "AfterToolDiscovery",
        &[(
            TOOL_CALLS,
            "discovery_hooks_can_rewrite_the_query_and_narrow_the_result",
        )],
    ),
    (
        "ToolValidation",
        &[(
            TOOL_CALLS,
            "modified_at_validation_changes_params_before_the_schema_check",
        )],
    ),
    (
        "ToolSecurityCheck",
        &[(TOOL_LIMITS, "a_security_hook_may_grant_or_refuse")],
    ),
    (
        "ToolResourceAllocated",
        &[(
            TOOL_CALLS,
            "tool_resource_allocated_sees_the_tool_its_limits_and_its_usage_before_it_runs",
        )],
    ),
    (
        "BeforeToolExecution",
        &[
            (TOOL_CALLS, "cancel_stops_a_real_call_with_the_reason"),
            (
                TOOL_CALLS,
                "modified_at_before_changes_the_params_the_tool_receives",
            ),
        ],
    ),
    (
        "AfterToolExecution",
        &[(
            TOOL_CALLS,
            "replace_at_before_skips_the_tool_and_at_after_replaces_its_output",
        )],
    ),
    (
        "ToolResourceReleased",
        &[(TOOL_LIMITS, "hooks_can_read_the_resource_counters")],
    ),
    (
        "ToolTimeout",
        &[(
            TOOL_CALLS,
            "tool_timeout_tells_its_hooks_the_tool_and_the_limit_it_passed",
        )],
    ),
    (
        "ToolError",
        &[(TOOL_CALLS, "retry_reruns_a_failing_tool_until_it_succeeds")],
    ),
    // ---- Workflow --------------------------------------------------------
    (
        "BeforeWorkflowStart",
        &[
            (
                WORKFLOW_HOOKS,
                "workflow_hooks_change_the_input_and_the_result",
            ),
            (
                WORKFLOW_HOOKS,
                "a_workflow_cancelled_before_it_starts_runs_nothing",
            ),
        ],
    ),
    (
        "AfterWorkflowComplete",
        &[(
            WORKFLOW_HOOKS,
            "workflow_hooks_change_the_input_and_the_result",
        )],
    ),
    (
        "WorkflowError",
        &[
            (WORKFLOW_HOOKS, "an_error_hook_can_supply_a_steps_output"),
            (
                WORKFLOW_RETRY,
                "a_retry_hook_on_a_workflow_error_reruns_the_whole_workflow",
            ),
        ],
    ),
    (
        "BeforeWorkflowStage",
        &[
            (
                WORKFLOW_HOOKS,
                "stage_hooks_change_a_steps_input_and_output",
            ),
            (
                WORKFLOW_HOOKS,
                "a_hook_cancelling_mid_workflow_stops_later_steps_and_names_itself",
            ),
        ],
    ),
    (
        "AfterWorkflowStage",
        &[(
            WORKFLOW_HOOKS,
            "stage_hooks_change_a_steps_input_and_output",
        )],
    ),
    (
        "WorkflowStageTransition",
        &[(WORKFLOW_HOOKS, "a_transition_hook_can_cancel")],
    ),
    (
        "WorkflowCheckpoint",
        &[(
            WORKFLOW_HOOKS,
            "a_checkpoint_hook_can_stop_the_run_after_a_step",
        )],
    ),
    (
        "WorkflowRollback",
        &[(
            WORKFLOW_HOOKS,
            "a_rollback_hook_can_refuse_the_rollback_and_stop_the_run",
        )],
    ),
    (
        "WorkflowConditionEvaluated",
        &[(
            WORKFLOW_CONDITIONAL,
            "hooks_can_override_a_condition_and_the_selected_branch",
        )],
    ),
    (
        "WorkflowBranchSelected",
        &[(
            WORKFLOW_CONDITIONAL,
            "hooks_can_override_a_condition_and_the_selected_branch",
        )],
    ),
    (
        "LoopIterationStart",
        &[(
            WORKFLOW_LOOP,
            "iteration_points_fire_and_may_change_the_item",
        )],
    ),
    (
        "LoopIterationEnd",
        &[(WORKFLOW_LOOP, "a_cancel_at_an_iteration_end_stops_the_loop")],
    ),
    (
        "LoopTerminated",
        &[(
            WORKFLOW_LOOP,
            "a_cancel_at_loop_terminated_fails_a_loop_that_ran_to_its_end",
        )],
    ),
    (
        "ParallelFork",
        &[(WORKFLOW_PARALLEL, "a_cancel_at_the_fork_starts_no_branch")],
    ),
    (
        "ParallelJoin",
        &[(
            WORKFLOW_PARALLEL,
            "a_cancel_at_the_join_fails_the_run_after_its_branches_ran",
        )],
    ),
    // ---- State -----------------------------------------------------------
    (
        "BeforeStateRead",
        &[(
            WORKFLOW_HOOKS,
            "a_state_read_hook_can_supply_the_state_or_refuse_the_read",
        )],
    ),
    (
        "AfterStateRead",
        &[(WORKFLOW_HOOKS, "state_hooks_fire_on_reads_and_writes")],
    ),
    (
        "BeforeStateWrite",
        &[(WORKFLOW_HOOKS, "a_refused_state_write_fails_the_workflow")],
    ),
    (
        "AfterStateWrite",
        &[
            (
                WORKFLOW_HOOKS,
                "an_after_state_write_cancel_refuses_the_write_and_stops_the_run",
            ),
            // The undo itself, seen on the state the workflow would keep.
            (
                "llmspell-workflows/src/state.rs",
                "after_write_cancel_undoes_the_write",
            ),
        ],
    ),
    (
        "StateConflict",
        &[
            (
                STATE_CONFLICT,
                "a_conflict_hook_merges_the_two_branches_values",
            ),
            (
                STATE_CONFLICT,
                "a_conflict_hook_can_refuse_the_second_write",
            ),
        ],
    ),
    (
        "StateMigration",
        &[(
            RUNTIME_POINTS,
            "state_saved_by_an_older_version_passes_state_migration",
        )],
    ),
    // ---- Session ---------------------------------------------------------
    (
        "SessionStart",
        &[(
            RUNTIME_POINTS,
            "session_start_reports_the_restore_and_its_cancel_refuses_the_session",
        )],
    ),
    (
        "SessionEnd",
        &[(
            RUNTIME_POINTS,
            "session_end_hooks_change_the_final_state_or_skip_the_final_save",
        )],
    ),
    (
        "SessionCheckpoint",
        &[(
            RUNTIME_POINTS,
            "state_save_passes_session_checkpoint_whose_hooks_change_or_refuse_what_is_saved",
        )],
    ),
    (
        "SessionRestore",
        &[(
            RUNTIME_POINTS,
            "a_named_session_is_saved_at_shutdown_and_restored_through_session_restore",
        )],
    ),
    // ---- Event -----------------------------------------------------------
    (
        "BeforeEventEmit",
        &[(
            EMIT_HOOKS,
            "before_emit_hooks_modify_replace_and_drop_events",
        )],
    ),
    (
        "AfterEventEmit",
        &[(EMIT_HOOKS, "after_emit_hooks_see_what_was_delivered")],
    ),
    (
        "EventHandlerError",
        &[
            (
                "llmspell-bridge/tests/lua_events.rs",
                "a_failing_callback_fires_event_handler_error_with_what_failed",
            ),
            (
                "llmspell-bridge/tests/lua_hooks.rs",
                "hook_failures_are_reported_and_recursion_is_bounded",
            ),
            (
                "llmspell-bridge/tests/js_hooks.rs",
                "failures_are_contained_reported_and_fail_closed_cancels",
            ),
        ],
    ),
    // ---- Performance -----------------------------------------------------
    (
        "PerformanceThresholdExceeded",
        &[
            (
                TOOL_CALLS,
                "a_tool_call_past_the_slow_budget_fires_performance_threshold_exceeded_whose_cancel_fails_it",
            ),
            (
                TOOL_CALLS,
                "a_slow_hook_in_a_tool_call_fires_performance_threshold_exceeded_whose_cancel_fails_it",
            ),
        ],
    ),
    (
        "MemoryUsageHigh",
        &[
            (
                RUNTIME_POINTS,
                "a_lua_engine_past_its_memory_high_water_fires_memory_usage_high_whose_cancel_stops_it",
            ),
            (
                RUNTIME_POINTS,
                "the_process_passing_its_resident_memory_mark_fires_memory_usage_high",
            ),
        ],
    ),
];

const RUNTIME_POINTS: &str = "llmspell-bridge/tests/runtime_points_fire_from_real_operations.rs";
const AGENT_TRANSITIONS: &str = "llmspell-agents/tests/every_transition_fires_its_hook_point.rs";
const AGENT_STEERING: &str = "llmspell-agents/tests/hooks_steer_agent_invocations.rs";
const LLM_AGENTS: &str = "llmspell-agents/tests/llm_agents_against_a_local_server.rs";
const TOOL_CALLS: &str = "llmspell-tools/tests/hooked_tool_calls.rs";
const TOOL_LIMITS: &str = "llmspell-tools/tests/validation_security_limits.rs";
const WORKFLOW_HOOKS: &str = "llmspell-workflows/tests/hooks_shape_workflow_runs.rs";
const WORKFLOW_RETRY: &str = "llmspell-workflows/tests/hooks_retry_fork_and_cache_steps.rs";
const WORKFLOW_CONDITIONAL: &str =
    "llmspell-workflows/tests/conditional_first_matching_branch_wins.rs";
const WORKFLOW_LOOP: &str = "llmspell-workflows/tests/loop_iterates_items_ranges_and_while.rs";
const WORKFLOW_PARALLEL: &str =
    "llmspell-workflows/tests/parallel_bounds_concurrency_and_failures.rs";
const STATE_CONFLICT: &str =
    "llmspell-workflows/tests/parallel_branches_writing_one_key_fire_state_conflict.rs";
const EMIT_HOOKS: &str = "llmspell-hooks/tests/emit_hooks_change_drop_and_report_events.rs";

/// Ways of firing a point by hand, which do not show that real code fires it.
const FIRED_BY_HAND: &[&str] = &["execute_point(", "Hook.fire(", ".fire(HookContext"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What to do about a point without a firing test.
fn what_to_add(point: &str) -> String {
    format!(
        "  {point}: add a test that performs the operation that fires {point} (not Hook.fire \
         or execute_point by hand) and asserts that a hook registered at {point} ran and that \
         its result took effect (or, if {point} only reports, that the hook saw the right \
         data); then add (\"{point}\", &[(\"<crate>/tests/<file>.rs\", \"<test_fn>\")]) to \
         FIRING_TESTS in {THIS_FILE}\n"
    )
}

#[test]
fn every_hook_point_has_a_firing_test() {
    let listed: BTreeSet<&str> = FIRING_TESTS.iter().map(|(p, _)| *p).collect();
    let missing: Vec<String> = HookPoint::all()
        .map(|p| p.to_string())
        .filter(|name| !listed.contains(name.as_str()))
        .collect();
    if !missing.is_empty() {
        let mut msg = format!(
            "{} hook point(s) have no test that fires them from a real operation: {}\n",
            missing.len(),
            missing.join(", ")
        );
        for point in &missing {
            msg.push_str(&what_to_add(point));
        }
        panic!("{msg}");
    }
}

#[test]
fn every_entry_names_a_built_in_point_once_with_at_least_one_test() {
    let mut problems = String::new();
    let mut seen = BTreeSet::new();
    for (name, tests) in FIRING_TESTS {
        match name.parse::<HookPoint>() {
            Ok(p) if !p.is_custom() && p.to_string() == *name => {}
            Ok(p) if !p.is_custom() => writeln!(
                problems,
                "  {name:?}: write the point's canonical name {:?}",
                p.to_string()
            )
            .unwrap(),
            Ok(_) => writeln!(
                problems,
                "  {name:?}: a custom point; only built-in points belong in the table"
            )
            .unwrap(),
            Err(e) => writeln!(
                problems,
                "  {name:?} is not a hook point ({e}); remove its entry if the point was removed"
            )
            .unwrap(),
        }
        if !seen.insert(*name) {
            writeln!(problems, "  {name:?} is listed twice; merge its entries").unwrap();
        }
        if tests.is_empty() {
            writeln!(problems, "  {name:?} lists no test").unwrap();
        }
    }
    assert!(
        problems.is_empty(),
        "FIRING_TESTS in {THIS_FILE} has bad entries:\n{problems}"
    );
}

/// The source of function `name` in `src`: from its `fn` line to the
/// closing brace at the same indentation (the layout rustfmt gives), with
/// the lines above it (attributes and comments).
fn function<'a>(src: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
    let needle = format!("fn {name}(");
    let at = src
        .match_indices(&needle)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || matches!(src.as_bytes()[i - 1], b' ' | b'\n'))?;
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = src[line_start..]
        .chars()
        .take_while(|c| *c == ' ')
        .collect();
    let close = format!("\n{indent}}}");
    let end = src[at..]
        .match_indices(&close)
        .map(|(i, _)| at + i + close.len())
        .find(|&e| matches!(src.as_bytes().get(e), None | Some(b'\n')))?;
    Some((&src[..line_start], &src[at..end]))
}

/// Whether the lines right above a function (attributes, doc comments)
/// make it a test.
fn is_test(above: &str) -> bool {
    above
        .lines()
        .rev()
        .map(str::trim)
        .take_while(|l| l.starts_with("#[") || l.starts_with("//") || l.ends_with(")]"))
        .any(|l| l == "#[test]" || l.starts_with("#[tokio::test"))
}

/// Whether `body` names `point` as `HookPoint::<point>` or `"<point>"`.
fn mentions(body: &str, point: &str) -> bool {
    let variant = format!("HookPoint::{point}");
    body.contains(&format!("\"{point}\""))
        || body.match_indices(&variant).any(|(i, _)| {
            !body[i + variant.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
}

#[test]
fn every_listed_test_exists_and_fires_its_point_from_a_real_operation() {
    let root = workspace_root();
    let mut problems = String::new();
    for (point, tests) in FIRING_TESTS {
        for (file, test) in *tests {
            let path = root.join(file);
            let Ok(src) = std::fs::read_to_string(&path) else {
                writeln!(problems, "  {point}: {file} does not exist").unwrap();
                continue;
            };
            let Some((above, body)) = function(&src, test) else {
                writeln!(problems, "  {point}: {file} has no `fn {test}(`").unwrap();
                continue;
            };
            if !is_test(above) {
                writeln!(
                    problems,
                    "  {point}: {file}: `{test}` is not a #[test] or #[tokio::test] function"
                )
                .unwrap();
            }
            if !mentions(body, point) {
                writeln!(
                    problems,
                    "  {point}: {file}: `{test}` does not mention HookPoint::{point} or \"{point}\", \
                     so it does not register a hook there"
                )
                .unwrap();
            }
            if let Some(by_hand) = FIRED_BY_HAND.iter().find(|f| body.contains(**f)) {
                writeln!(
                    problems,
                    "  {point}: {file}: `{test}` fires points by hand (`{by_hand}`); list a \
                     test that performs the real operation instead"
                )
                .unwrap();
            }
        }
    }
    assert!(
        problems.is_empty(),
        "FIRING_TESTS in {THIS_FILE} names tests that do not show their point firing:\n{problems}"
    );
}

#[test]
fn the_source_scanner_finds_functions_and_mentions_exactly() {
    let src = "use x;\n\n#[tokio::test]\nasync fn alpha() {\n    let p = HookPoint::AgentErrorish;\n    if x {\n    }\n}\n\n/// doc\n#[test]\nfn beta() {\n    Hook.register(\"AgentError\", f)\n}\n\nfn gamma() {}\n";
    let (above, body) = function(src, "alpha").unwrap();
    assert!(is_test(above));
    assert!(body.ends_with("    }\n}"), "{body:?}");
    assert!(
        !mentions(body, "AgentError"),
        "a longer name is not the point"
    );
    let (above, body) = function(src, "beta").unwrap();
    assert!(is_test(above) && mentions(body, "AgentError"));
    assert!(
        function(src, "gamma").is_none(),
        "one-line functions are not tests"
    );
    assert!(function(src, "delta").is_none());
    assert!(function(src, "lpha").is_none());
}
