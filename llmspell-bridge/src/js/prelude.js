// The JavaScript globals of llmspell (docs/user-guide/javascript-api.md), built on the host's
// native functions. Evaluated once per engine; returns the setup function,
// which the host calls with the natives (kept private to this closure) and
// facts about the runtime.
(function (native, info) {
  "use strict";

  const hidden = (obj, name, value) =>
    Object.defineProperty(obj, name, { value, enumerable: false, writable: false, configurable: false });

  const kindOf = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

  const fail = (message) => Object.assign(new Error(message), { kind: "invalid_input" });

  // ---- Hook ----------------------------------------------------------------

  class HookHandle {
    constructor(id, point) {
      hidden(this, "_id", id);
      hidden(this, "_point", point);
    }
    id() { return this._id; }
    point() { return this._point; }
    hook_point() { return this._point; }
    unregister() { return native.hookUnregister(this._id); }
    toString() { return `Hook(${this._id} at ${this._point})`; }
  }

  // What Hook.use returns: like a HookHandle for its first registration,
  // with every registration's ids and points, and the hook's report.
  class BuiltinHandle {
    constructor(r) {
      hidden(this, "_name", r.kind);
      hidden(this, "_ids", r.ids);
      hidden(this, "_points", r.points);
    }
    id() { return this._ids[0]; }
    point() { return this._points[0]; }
    hook_point() { return this._points[0]; }
    ids() { return this._ids.slice(); }
    points() { return this._points.slice(); }
    name() { return this._name; }
    unregister() {
      let any = false;
      for (const id of this._ids) any = native.hookUnregister(id) || any;
      return any;
    }
    report() { return native.hookReport(this._ids[0]); }
    toString() { return `Hook(${this._name} ${this._ids.join(",")} at ${this._points.join(", ")})`; }
  }

  // A composite hook: what Hook.sequential and the others return, and
  // Hook.register takes in place of a function.
  const composite = (kind) => (members, opts) => {
    if (opts !== undefined && opts !== null) {
      if (kindOf(opts) !== "object") throw fail(`Hook.${kind}: argument 2 must be an options object, got ${kindOf(opts)}`);
      for (const k of Object.keys(opts)) {
        if (k !== "threshold") throw fail(`Hook.${kind}: unknown option \`${k}\`; valid: threshold`);
      }
    }
    const spec = { members };
    hidden(spec, "__composite", kind);
    if (opts && opts.threshold !== undefined) spec.threshold = opts.threshold;
    return Object.freeze(spec);
  };

  const Hook = {
    sequential: composite("sequential"),
    first_match: composite("first_match"),
    parallel: composite("parallel"),
    voting: composite("voting"),
    use(name, config) { return new BuiltinHandle(native.hookUse(name, config)); },
    budget(component, opts) { return native.hookBudget(component, opts === undefined ? null : opts); },
    component_stats() { return native.hookComponentStats(); },
    replay(filter) { return native.hookReplay(filter === undefined ? null : filter); },
    command(point, argv, opts) {
      const r = native.hookCommand(point, argv, opts);
      return new HookHandle(r.id, r.point);
    },
    report(target) {
      if (target instanceof BuiltinHandle) return native.hookReport(target._ids[0]);
      if (target instanceof HookHandle) return native.hookReport(target._id);
      return native.hookReport(target);
    },
    register(point, fn, opts) {
      const r = native.hookRegister(point, fn, opts);
      return new HookHandle(r.id, r.point);
    },
    unregister(h) {
      if (h instanceof BuiltinHandle) return h.unregister();
      return native.hookUnregister(h instanceof HookHandle ? h._id : h);
    },
    list(filter) { return native.hookList(filter === undefined ? null : filter); },
    points() { return native.hookPoints(); },
    // The native itself, not a wrapper: a fire is on hot paths, and a
    // wrapper's call frame costs about a tenth of it.
    fire: native.hookFire,
  };

  // ---- Event ---------------------------------------------------------------

  class Subscription {
    constructor(id, pattern) {
      hidden(this, "_id", id);
      hidden(this, "_pattern", pattern);
    }
    id() { return this._id; }
    pattern() { return this._pattern; }
    unsubscribe() { return native.eventUnsubscribe(this._id); }
    toString() { return `Subscription(${this._id} on ${this._pattern})`; }
  }

  const subscriptionId = (s) => (s instanceof Subscription ? s._id : s);

  const Event = {
    publish: native.eventPublish, // the native itself, as for Hook.fire
    subscribe(pattern, callback, opts) {
      if (callback !== undefined && callback !== null && typeof callback !== "function") {
        if (opts === undefined && typeof callback === "object" && !Array.isArray(callback)) {
          opts = callback;
          callback = null;
        } else {
          throw fail(`Event.subscribe: argument 2 must be a callback function or an options object, got ${kindOf(callback)}`);
        }
      }
      const r = native.eventSubscribe(pattern, callback === undefined ? null : callback, opts);
      return new Subscription(r.id, r.pattern);
    },
    receive(sub, timeoutMs) { return native.eventReceive(subscriptionId(sub), timeoutMs); },
    unsubscribe(sub) { return native.eventUnsubscribe(subscriptionId(sub)); },
    stats() { return native.eventStats(); },
    get_stats() { return native.eventStats(); },
    list_subscriptions() { return native.eventListSubscriptions(); },
  };
  Event.emit = Event.publish;

  // ---- Tool ----------------------------------------------------------------

  const Tool = {
    list() { return native.toolList(); },
    info(name) { return native.toolInfo(name); },
    invoke(name, params, opts) { return native.toolInvoke(name, params, opts); },
    register(spec) {
      if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
        throw fail(`Tool.register takes an object, got ${kindOf(spec)}`);
      }
      const { handler, ...rest } = spec;
      if (typeof handler !== "function") {
        throw fail(`Tool.register: \`handler\` must be a function, got ${kindOf(handler)}`);
      }
      return native.toolRegister(rest, handler);
    },
  };

  // ---- Agent ---------------------------------------------------------------

  class AgentContext {
    constructor(id) { hidden(this, "_id", id); }
    get name() { return native.ctxInfo(this._id).name; }
    invoke_tool(name, params) { return native.ctxInvokeTool(this._id, name, params); }
    invokeTool(name, params) { return native.ctxInvokeTool(this._id, name, params); }
    parameters() { return native.ctxInfo(this._id).parameters; }
    state() { return native.ctxInfo(this._id).state; }
    attempt() { return native.ctxInfo(this._id).attempt; }
    is_cancelled() { return native.ctxInfo(this._id).is_cancelled; }
    correlation_id() { return native.ctxInfo(this._id).correlation_id; }
    checkpoint() { return native.ctxCheckpoint(this._id); }
    toString() { return `AgentContext(${this.name})`; }
  }

  // A basic agent's handler gets (input, agent); the host passes the
  // invocation's handle number, released when the handler settles.
  const wrapHandler = (handler) => async (input, contextId) => {
    try {
      return await handler(input, new AgentContext(contextId));
    } finally {
      native.ctxRelease(contextId);
    }
  };

  class AgentHandle {
    constructor(id) { hidden(this, info.agentKey, id); }
    get name() { return native.agentInfo(this[info.agentKey]).name; }
    invoke(input, opts) { return native.agentInvoke(this[info.agentKey], input, opts); }
    invoke_tool(name, params, opts) { return native.agentInvokeTool(this[info.agentKey], name, params, opts); }
    invokeTool(name, params, opts) { return native.agentInvokeTool(this[info.agentKey], name, params, opts); }
    state() { return native.agentInfo(this[info.agentKey]).state; }
    type() { return native.agentInfo(this[info.agentKey]).type; }
    pause() { return native.agentTransition(this[info.agentKey], "pause"); }
    resume() { return native.agentTransition(this[info.agentKey], "resume"); }
    terminate() { return native.agentTransition(this[info.agentKey], "terminate"); }
    toString() {
      const i = native.agentInfo(this[info.agentKey]);
      return `Agent(${i.name}, ${i.state})`;
    }
  }

  const Agent = {
    create(spec) {
      if (spec !== null && typeof spec === "object" && typeof spec.handler === "function") {
        spec = { ...spec, handler: wrapHandler(spec.handler) };
      }
      return native.agentCreate(spec).then((id) => new AgentHandle(id));
    },
    list() { return native.agentList(); },
    get(name) {
      const id = native.agentGet(name);
      return id === null ? null : new AgentHandle(id);
    },
  };

  // ---- Workflow ------------------------------------------------------------

  class WorkflowHandle {
    constructor(id) { hidden(this, info.workflowKey, id); }
    get name() { return native.workflowName(this[info.workflowKey]); }
    execute(input, opts) { return native.workflowExecute(this[info.workflowKey], input, opts); }
    toString() { return `Workflow(${this.name})`; }
  }

  const Workflow = {};
  for (const kind of ["sequential", "conditional", "loop", "parallel"]) {
    Workflow[kind] = (spec) => new WorkflowHandle(native.workflowBuild(kind, spec));
  }
  Workflow.list = () => native.workflowList();
  Workflow.get = (name) => {
    const id = native.workflowGet(name);
    return id === null ? null : new WorkflowHandle(id);
  };

  // ---- console, print, llmspell, timers ------------------------------------

  const show = (v) => {
    if (typeof v === "string") return v;
    if (typeof v === "function") return `[Function ${v.name || "anonymous"}]`;
    if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}`.trimEnd() : `${v.name}: ${v.message}`;
    if (v !== null && typeof v === "object") {
      try {
        const s = JSON.stringify(v);
        if (s !== undefined) return s;
      } catch (_) {
        // cyclic or otherwise not JSON: fall through
      }
    }
    return String(v);
  };
  const line = (args) => args.map(show).join(" ");

  const console = {
    log: (...args) => native.write(line(args), false),
    info: (...args) => native.write(line(args), false),
    debug: (...args) => native.write(line(args), false),
    warn: (...args) => native.write(line(args), true),
    error: (...args) => native.write(line(args), true),
  };
  const print = (...args) => native.write(line(args), false);

  // ---- State -----------------------------------------------------------------

  const State = Object.freeze({
    get(key) { return native.stateGet(key); },
    set(key, value) { return native.stateSet(key, value); },
    delete(key) { return native.stateDelete(key); },
    keys() { return native.stateKeys(); },
    save() { return native.stateSave(); },
  });

  // ---- Trace -----------------------------------------------------------------

  const Trace = Object.freeze({
    get(id) { return native.traceGet(id); },
    analyse(id, options) { return native.traceAnalyse(id, options); },
    render(id) { return native.traceRender(id); },
    recent(limit) { return native.traceRecent(limit); },
  });

  const llmspell = Object.freeze({
    version: info.version,
    args: Object.freeze(info.args.slice()),
    session: info.session,
    sleep: (ms) => native.sleep(ms),
  });

  let nextTimer = 1;
  const pending = new Set();
  const setTimeout = (fn, ms, ...args) => {
    if (typeof fn !== "function") throw fail(`setTimeout: argument 1 must be a function, got ${kindOf(fn)}`);
    const id = nextTimer++;
    pending.add(id);
    native.sleep(Math.max(0, Number(ms) || 0)).then(() => {
      if (!pending.delete(id)) return;
      try {
        const r = fn(...args);
        if (r instanceof Promise) {
          r.catch((e) => native.report("timer callback", e instanceof Error ? e.message : show(e)));
        }
      } catch (e) {
        native.report("timer callback", e instanceof Error ? e.message : show(e));
      }
    });
    return id;
  };
  const clearTimeout = (id) => { pending.delete(id); };

  const globals = { Hook, Event, Tool, Agent, Workflow, State, Trace, console, print, llmspell, setTimeout, clearTimeout };
  for (const [name, value] of Object.entries(globals)) {
    Object.defineProperty(globalThis, name, { value, enumerable: false, writable: true, configurable: true });
  }
})
