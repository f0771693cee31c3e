//! The decision table of the guarded runner: what a point's result makes the
//! guarded sequence do next. Pure: no hooks run, no operation, no clock.
//!
//! It is the table of the hooks guide ("What a hook decides") as code; the
//! tests below walk every row.

use std::time::Duration;

use serde_json::Value;

use crate::{Decision, ForkOperation, HookResult};

/// Where the guarded sequence stands when a point's hooks decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The Before point: the operation has not run.
    Before,
    /// The After point: the operation (or a replacement) produced an output.
    After,
    /// The Error point: the operation failed.
    Error,
}

/// What the guarded sequence does next.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Next {
    /// Before: run the operation on the current target.
    Run,
    /// Before: serve the output cached under `key`, or run and store it for
    /// `ttl`.
    Cached { key: String, ttl: Duration },
    /// Before: run the operation and these extra operations concurrently.
    RunWithForks(Vec<ForkOperation>),
    /// Run the operation on this component instead (Before), again on it
    /// (After), or on it as a fallback (Error).
    Redirect(String),
    /// This value is the output: instead of running (Before), instead of the
    /// output (After), instead of the error (Error).
    Replace(Value),
    /// Run the whole sequence again after the delay.
    Retry(Duration),
    /// After: the output stands, after storing it in the cache and running
    /// extra operations where the hooks asked.
    Finish {
        store: Option<(String, Duration)>,
        forks: Vec<ForkOperation>,
    },
    /// The sequence fails.
    Fail(Failure),
}

/// How a guarded sequence fails.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// A hook cancelled: `Cancelled { hook, reason }`.
    Cancelled { hook: String, reason: String },
    /// A Before hook asked for a retry past the limit: `Cancelled`, naming
    /// the hook and the limit.
    RetryLimit { hook: String, max_attempts: u32 },
    /// Error: the operation's error stands, reported as cancelled when a
    /// hook cancelled, after running extra operations where the hooks asked.
    Stands {
        cancelled: bool,
        forks: Vec<ForkOperation>,
    },
}

/// The attempts a retry may make: what the hook asked, at least 1, at most
/// the runner's limit.
pub(crate) fn allowed_attempts(asked: u32, limit: u32) -> u32 {
    asked.clamp(1, limit.max(1))
}

/// What the sequence does next after the hooks of `stage` decided
/// `decision` (`None`: every hook continued) during attempt `attempt` (1 for
/// the first), with at most `limit` attempts allowed by the runner.
pub(crate) fn decide(stage: Stage, decision: Option<Decision>, attempt: u32, limit: u32) -> Next {
    use HookResult as R;
    let Some(Decision { result, hook }) = decision else {
        return decide_continue(stage);
    };
    match (stage, result) {
        (_, R::Cancel(reason)) if stage != Stage::Error => {
            Next::Fail(Failure::Cancelled { hook, reason })
        }
        (Stage::Error, R::Cancel(_)) => Next::Fail(Failure::Stands {
            cancelled: true,
            forks: Vec::new(),
        }),
        (_, R::Redirect(to)) => Next::Redirect(to),
        (_, R::Replace(value)) => Next::Replace(value),
        (
            _,
            R::Retry {
                delay,
                max_attempts,
            },
        ) => {
            let max_attempts = allowed_attempts(max_attempts, limit);
            if attempt < max_attempts {
                Next::Retry(delay)
            } else {
                match stage {
                    Stage::Before => Next::Fail(Failure::RetryLimit { hook, max_attempts }),
                    Stage::After => Next::Finish {
                        store: None,
                        forks: Vec::new(),
                    },
                    Stage::Error => Next::Fail(Failure::Stands {
                        cancelled: false,
                        forks: Vec::new(),
                    }),
                }
            }
        }
        (Stage::Before, R::Fork { operations }) => Next::RunWithForks(operations),
        (Stage::After, R::Fork { operations }) => Next::Finish {
            store: None,
            forks: operations,
        },
        (Stage::Error, R::Fork { operations }) => Next::Fail(Failure::Stands {
            cancelled: false,
            forks: operations,
        }),
        (Stage::Before, R::Cache { key, ttl }) => Next::Cached { key, ttl },
        (Stage::After, R::Cache { key, ttl }) => Next::Finish {
            store: Some((key, ttl)),
            forks: Vec::new(),
        },
        // Continue, Modified (already applied to the data), Skipped; and a
        // Cache at the Error point, which has no output to store.
        _ => decide_continue(stage),
    }
}

/// What the sequence does when no hook decided anything.
fn decide_continue(stage: Stage) -> Next {
    match stage {
        Stage::Before => Next::Run,
        Stage::After => Next::Finish {
            store: None,
            forks: Vec::new(),
        },
        Stage::Error => Next::Fail(Failure::Stands {
            cancelled: false,
            forks: Vec::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIMIT: u32 = 10;
    const D: Duration = Duration::from_millis(5);

    fn by_hook(result: HookResult) -> Option<Decision> {
        Some(Decision {
            result,
            hook: "h".into(),
        })
    }

    fn fork() -> Vec<ForkOperation> {
        vec![ForkOperation {
            target: "b".into(),
            input: json!(1),
        }]
    }

    fn every_result() -> Vec<HookResult> {
        vec![
            HookResult::Continue,
            HookResult::Modified(json!(1)),
            HookResult::Cancel("no".into()),
            HookResult::Redirect("b".into()),
            HookResult::Replace(json!(2)),
            HookResult::Retry {
                delay: D,
                max_attempts: 3,
            },
            HookResult::Fork { operations: fork() },
            HookResult::Cache {
                key: "k".into(),
                ttl: D,
            },
            HookResult::Skipped("n/a".into()),
        ]
    }

    fn finish() -> Next {
        Next::Finish {
            store: None,
            forks: Vec::new(),
        }
    }

    fn stands(cancelled: bool) -> Next {
        Next::Fail(Failure::Stands {
            cancelled,
            forks: Vec::new(),
        })
    }

    /// The hooks guide's table, row by row: (result, Before, After, Error)
    /// during the first of at most three attempts.
    fn table() -> Vec<(HookResult, Next, Next, Next)> {
        let r = every_result();
        vec![
            (r[0].clone(), Next::Run, finish(), stands(false)),
            (r[1].clone(), Next::Run, finish(), stands(false)),
            (
                r[2].clone(),
                Next::Fail(Failure::Cancelled {
                    hook: "h".into(),
                    reason: "no".into(),
                }),
                Next::Fail(Failure::Cancelled {
                    hook: "h".into(),
                    reason: "no".into(),
                }),
                stands(true),
            ),
            (
                r[3].clone(),
                Next::Redirect("b".into()),
                Next::Redirect("b".into()),
                Next::Redirect("b".into()),
            ),
            (
                r[4].clone(),
                Next::Replace(json!(2)),
                Next::Replace(json!(2)),
                Next::Replace(json!(2)),
            ),
            (r[5].clone(), Next::Retry(D), Next::Retry(D), Next::Retry(D)),
            (
                r[6].clone(),
                Next::RunWithForks(fork()),
                Next::Finish {
                    store: None,
                    forks: fork(),
                },
                Next::Fail(Failure::Stands {
                    cancelled: false,
                    forks: fork(),
                }),
            ),
            (
                r[7].clone(),
                Next::Cached {
                    key: "k".into(),
                    ttl: D,
                },
                Next::Finish {
                    store: Some(("k".into(), D)),
                    forks: Vec::new(),
                },
                stands(false),
            ),
            (r[8].clone(), Next::Run, finish(), stands(false)),
        ]
    }

    #[test]
    fn every_result_at_every_stage_is_decided_as_the_table_says() {
        let table = table();
        assert_eq!(table.len(), every_result().len(), "a row per action");
        for (result, before, after, error) in table {
            for (stage, want) in [
                (Stage::Before, before),
                (Stage::After, after),
                (Stage::Error, error),
            ] {
                assert_eq!(
                    decide(stage, by_hook(result.clone()), 1, LIMIT),
                    want,
                    "{result:?} at {stage:?}"
                );
            }
        }
    }

    #[test]
    fn no_decision_runs_keeps_the_output_and_lets_the_error_stand() {
        assert_eq!(decide(Stage::Before, None, 1, LIMIT), Next::Run);
        assert_eq!(decide(Stage::After, None, 1, LIMIT), finish());
        assert_eq!(decide(Stage::Error, None, 1, LIMIT), stands(false));
    }

    #[test]
    fn a_retry_at_its_limit_cancels_before_keeps_the_output_after_and_the_error_otherwise() {
        let retry = |asked| {
            by_hook(HookResult::Retry {
                delay: D,
                max_attempts: asked,
            })
        };
        assert_eq!(
            decide(Stage::Before, retry(3), 3, LIMIT),
            Next::Fail(Failure::RetryLimit {
                hook: "h".into(),
                max_attempts: 3
            })
        );
        assert_eq!(decide(Stage::After, retry(3), 3, LIMIT), finish());
        assert_eq!(decide(Stage::Error, retry(3), 3, LIMIT), stands(false));
        assert_eq!(decide(Stage::Error, retry(3), 2, LIMIT), Next::Retry(D));
    }

    #[test]
    fn retries_are_bounded_by_the_runner_and_never_below_one_attempt() {
        let retry = |asked| {
            by_hook(HookResult::Retry {
                delay: D,
                max_attempts: asked,
            })
        };
        assert_eq!(allowed_attempts(0, LIMIT), 1);
        assert_eq!(allowed_attempts(1_000, LIMIT), LIMIT);
        assert_eq!(
            decide(Stage::Before, retry(1_000), LIMIT, LIMIT),
            Next::Fail(Failure::RetryLimit {
                hook: "h".into(),
                max_attempts: LIMIT
            })
        );
        assert_eq!(
            decide(Stage::Before, retry(0), 1, LIMIT),
            Next::Fail(Failure::RetryLimit {
                hook: "h".into(),
                max_attempts: 1
            })
        );
    }
}
