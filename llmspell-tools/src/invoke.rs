//! Calling a tool: the eight tool hook points around the guarded runner.

use std::sync::Arc;

use llmspell_core::{Error, ExecutionContext, Result, SecurityLevel};
use llmspell_hooks::{GuardOutcome, HookPoint, LazyTimeout, OperationCall};
use serde_json::{Value, json};

use llmspell_core::json_size;

use crate::limits::ResourceLimits;
use crate::registry::{ToolEntry, ToolRegistry};

/// What the auxiliary points before a call honour.
const ONLY_MODIFIED: &str = "only modified and cancel apply";

/// Per-call settings; unset fields take the registry's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct InvokeOptions {
    /// The caller's security level.
    pub allowed_level: Option<SecurityLevel>,
    /// The call's limits.
    pub limits: Option<ResourceLimits>,
}

impl InvokeOptions {
    /// Registry defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the caller's security level.
    pub fn allowed_level(mut self, level: SecurityLevel) -> Self {
        self.allowed_level = Some(level);
        self
    }
    /// Sets the call's limits.
    pub fn limits(mut self, limits: ResourceLimits) -> Self {
        self.limits = Some(limits);
        self
    }
}

/// A tool call's output and how it came about: the guarded runner's outcome
/// (`target` is the tool that produced it, another one after a redirect).
pub type ToolOutput = GuardOutcome;

impl ToolRegistry {
    /// Calls `name` with `params` as `exec`'s operation; returns the output.
    ///
    /// # Errors
    /// `NotFound` (with the closest name), `InvalidInput` naming the field,
    /// `SecurityViolation`, `ResourceLimitExceeded`, `Timeout`,
    /// `Cancelled { hook, reason }`, `HookFailed`, or the tool's own error.
    pub async fn invoke(
        &self,
        name: &str,
        params: Value,
        exec: &ExecutionContext,
    ) -> Result<Value> {
        self.invoke_with(name, params, exec, InvokeOptions::default())
            .await
            .map(|o| o.output)
    }

    /// Calls `name` with explicit options; returns the output and its history.
    ///
    /// The points, in order: `ToolValidation` (data: the params; `Modified`
    /// replaces them, `Cancel` refuses), schema validation, `ToolSecurityCheck`
    /// (data: `{ tool, required_level, allowed_level }`; `Modified` may change
    /// `allowed_level`, `Cancel` refuses), the level check (a refusal fires
    /// `SecurityViolation`), the input size check (a breach fires
    /// `ResourceLimitExceeded`), `ToolResourceAllocated` (data: `{ tool,
    /// limits, usage }`; `Cancel` refuses), then `BeforeToolExecution` → the tool (within its
    /// time limit; a timeout fires `ToolTimeout`) → `AfterToolExecution` or
    /// `ToolError` through the guarded runner, and `ToolResourceReleased`
    /// (data: `{ tool, duration_ms, output_bytes, ok, usage }`).
    ///
    /// # Errors
    /// As [`invoke`](ToolRegistry::invoke).
    pub async fn invoke_with(
        &self,
        name: &str,
        params: Value,
        exec: &ExecutionContext,
        options: InvokeOptions,
    ) -> Result<ToolOutput> {
        let entry = self.entry(name)?;
        let limits = options.limits.unwrap_or(self.inner.limits);
        let allowed = options.allowed_level.unwrap_or(self.inner.allowed_level);
        let (params, allowed) = self.admit(&entry, params, exec, allowed).await?;
        let input_bytes = match limits.max_input_bytes {
            Some(max) => {
                let n = json_size(&params);
                if n > max {
                    return Err(self.breach(&entry, exec, "input_bytes", max, n).await);
                }
                n
            }
            None => 0,
        };

        entry.counters.start(input_bytes);
        let started = llmspell_core::clock::instant();
        // A `Cancel` here refuses the call; it still counts as a call that
        // failed, and `ToolResourceReleased` reports it.
        let refused = self
            .inner
            .runner
            .executor()
            .fire_at(HookPoint::ToolResourceAllocated, entry.spec.component(), exec, &[], || {
                json!({ "tool": &*entry.name, "limits": limits, "usage": entry.counters.snapshot() })
            })
            .await
            .err();
        let (mut result, sized) = match refused {
            Some(e) => (Err(e), None),
            None => {
                self.run_guarded(&entry, params, exec, allowed, limits)
                    .await
            }
        };
        let elapsed = llmspell_core::clock::since(started);
        if let Ok(out) = &mut result {
            out.elapsed = elapsed;
        }
        self.release(&entry, exec, limits, &result, sized, elapsed)
            .await;
        result
    }

    /// Validation and the security check before a call: `ToolValidation`
    /// hooks may rewrite the parameters, which are then checked against the
    /// schema; `ToolSecurityCheck` hooks may change the allowed level, which
    /// is then checked against the tool's. Returns the parameters and level
    /// the call runs with.
    async fn admit(
        &self,
        entry: &ToolEntry,
        mut params: Value,
        exec: &ExecutionContext,
        mut allowed: SecurityLevel,
    ) -> Result<(Value, SecurityLevel)> {
        let executor = self.inner.runner.executor();
        let component = entry.spec.component();
        if let Some(f) = executor
            .fire_at(HookPoint::ToolValidation, component, exec, &[], || {
                params.clone()
            })
            .await?
        {
            f.ignore(ONLY_MODIFIED);
            params = f.data;
        }
        entry.validator.check(&entry.name, &params)?;

        if let Some(f) = executor
            .fire_at(HookPoint::ToolSecurityCheck, component, exec, &[], || {
                json!({
                    "tool": &*entry.name,
                    "required_level": entry.info.security_level,
                    "allowed_level": allowed,
                })
            })
            .await?
            && let Some(level) = f.data.get("allowed_level")
        {
            f.ignore(ONLY_MODIFIED);
            allowed = serde_json::from_value(level.clone()).map_err(|_| {
                Error::invalid_input(
                    "allowed_level",
                    format!("a security hook set {level}; valid: \"safe\", \"restricted\", \"privileged\""),
                )
            })?;
        }
        self.check_level(entry, allowed, exec).await?;
        Ok((params, allowed))
    }

    /// Accounting after a call: the output's size (when an output limit
    /// asks for it), the usage counters, and `ToolResourceReleased`.
    async fn release(
        &self,
        entry: &ToolEntry,
        exec: &ExecutionContext,
        limits: ResourceLimits,
        result: &Result<ToolOutput>,
        sized: Option<usize>,
        elapsed: std::time::Duration,
    ) {
        let output_bytes = match (result, limits.max_output_bytes, sized) {
            // Sized already by the limit check, and no hook changed it since.
            (Ok(_), Some(_), Some(n)) => n,
            (Ok(out), Some(_), None) => json_size(&out.output),
            _ => 0,
        };
        entry
            .counters
            .finish(elapsed, output_bytes, result.is_err());
        if self
            .inner
            .runner
            .executor()
            .registry()
            .has_hooks(&HookPoint::ToolResourceReleased)
        {
            self.report(HookPoint::ToolResourceReleased, entry, exec, || {
                json!({
                    "tool": &*entry.name,
                    "duration_ms": elapsed.as_secs_f64() * 1000.0,
                    "output_bytes": output_bytes,
                    "ok": result.is_ok(),
                    "usage": entry.counters.snapshot(),
                })
            })
            .await;
        }
    }

    /// The call through the guarded runner; with the output's size when the
    /// output limit check measured it and nothing ran after the tool (the
    /// pass-through path).
    async fn run_guarded(
        &self,
        entry: &Arc<ToolEntry>,
        params: Value,
        exec: &ExecutionContext,
        allowed: SecurityLevel,
        limits: ResourceLimits,
    ) -> (Result<ToolOutput>, Option<usize>) {
        // The size measured by the output limit check of the guarded tool's own
        // run (a `Mutex`, not a `Cell`: the call's future must stay `Send`).
        let sized = parking_lot::Mutex::new(None);
        let op = |call: OperationCall| {
            let sized = &sized;
            async move {
                let fork = call.fork;
                let (output, size) = self.run_one(entry, call, exec, allowed, limits).await?;
                if !fork {
                    *sized.lock() = size;
                }
                Ok(output)
            }
        };
        let result = self.inner.runner.run(&entry.spec, exec, params, op).await;
        let size = match &result {
            Ok(out) if out.passthrough => *sized.lock(),
            _ => None,
        };
        (result, size)
    }

    /// One run of a tool: the guarded one, a redirect target or a fork. With
    /// the output's size when the output limit check measured it.
    async fn run_one(
        &self,
        entry: &Arc<ToolEntry>,
        call: OperationCall,
        exec: &ExecutionContext,
        allowed: SecurityLevel,
        limits: ResourceLimits,
    ) -> Result<(Value, Option<usize>)> {
        let target = if *call.target == *entry.name {
            entry.clone()
        } else {
            // Redirect and fork targets pass the same checks as a direct call.
            let t = self.entry(&call.target)?;
            t.validator.check(&t.name, &call.input)?;
            self.check_level(&t, allowed, exec).await?;
            t
        };
        let retried;
        let exec = if call.attempt != exec.attempt {
            retried = exec.clone().with_attempt(call.attempt);
            &retried
        } else {
            exec
        };
        let output = match limits.max_duration {
            Some(limit) => {
                match LazyTimeout::new(target.tool.execute(call.input, exec), limit).await {
                    Ok(r) => r?,
                    Err(_) => {
                        target.counters.timeout();
                        self.report(HookPoint::ToolTimeout, &target, exec, || {
                        json!({ "tool": &*target.name, "limit_ms": limit.as_millis() as u64 })
                    })
                    .await;
                        return Err(Error::Timeout {
                            operation: format!("tool:{}", target.name),
                            after: limit,
                        });
                    }
                }
            }
            None => target.tool.execute(call.input, exec).await?,
        };
        let mut size = None;
        if let Some(max) = limits.max_output_bytes {
            let n = json_size(&output);
            if n > max {
                return Err(self.breach(&target, exec, "output_bytes", max, n).await);
            }
            size = Some(n);
        }
        Ok((output, size))
    }

    async fn check_level(
        &self,
        entry: &ToolEntry,
        allowed: SecurityLevel,
        exec: &ExecutionContext,
    ) -> Result<()> {
        let required = entry.info.security_level;
        if required <= allowed {
            return Ok(());
        }
        entry.counters.deny();
        self.report(HookPoint::SecurityViolation, entry, exec, || {
            json!({ "tool": &*entry.name, "required_level": required, "allowed_level": allowed })
        })
        .await;
        Err(Error::SecurityViolation {
            message: format!(
                "tool {:?} needs security level {required}, the caller is allowed {allowed}",
                &*entry.name
            ),
        })
    }

    async fn breach(
        &self,
        entry: &ToolEntry,
        exec: &ExecutionContext,
        resource: &str,
        limit: usize,
        requested: usize,
    ) -> Error {
        entry.counters.breach();
        self.report(HookPoint::ResourceLimitExceeded, entry, exec, || {
            json!({ "tool": &*entry.name, "resource": resource, "limit": limit, "requested": requested })
        })
        .await;
        Error::ResourceLimitExceeded {
            resource: resource.to_owned(),
            limit: limit as u64,
            requested: requested as u64,
        }
    }

    /// Fires a point that reports what happened to a call (its results do
    /// not change the call; a failing hook is logged).
    async fn report(
        &self,
        point: HookPoint,
        entry: &ToolEntry,
        exec: &ExecutionContext,
        data: impl FnOnce() -> Value,
    ) {
        let executor = self.inner.runner.executor();
        match executor
            .fire_at(point, entry.spec.component(), exec, &[], data)
            .await
        {
            Ok(Some(f)) => f.ignore("the point reports only"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "a hook of a reporting point failed"),
        }
    }
}
