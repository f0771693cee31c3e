//! The `Workflow` global and workflow handles.

use std::rc::Weak;
use std::sync::Arc;

use llmspell_core::Workflow;
use mlua::{AnyUserData, Lua, Table, UserData, UserDataFields, UserDataMethods, Value as LuaValue};

use super::spec::to_script_value;
use super::{arg_json, arg_string, async_function, engine_function, fail};
use crate::lua::conversion::json_to_lua;
use crate::lua::engine::LuaEngine;
use crate::{Host, WorkflowKind};

/// `wf = Workflow.sequential(...)` (or another pattern): `wf.name`,
/// `wf:execute(input)`.
pub(crate) struct LuaWorkflow {
    pub(crate) workflow: Arc<dyn Workflow>,
    pub(crate) host: Host,
}

fn handle_methods(lua: &Lua) -> mlua::Result<Table> {
    let methods = lua.create_table()?;
    methods.set(
        "execute",
        async_function(
            lua,
            |lua, (this, input, opts): (AnyUserData, LuaValue, LuaValue)| async move {
                let (workflow, host) = {
                    let w = this.borrow::<LuaWorkflow>()?;
                    (w.workflow.clone(), w.host.clone())
                };
                let input = arg_json(&input, "wf:execute: argument 1 (the input)")?;
                let exec = super::call_exec(&opts, "wf:execute: argument 2 (options)")?;
                let out = host
                    .workflow_execute(&workflow, input, &exec)
                    .await
                    .map_err(fail)?;
                json_to_lua(&lua, &out)
            },
        )?,
    )?;
    Ok(methods)
}

impl UserData for LuaWorkflow {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("name", |_, this| {
            Ok(this.workflow.metadata().name().to_owned())
        });
        fields.add_meta_field_with("__index", handle_methods);
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!("Workflow({})", this.workflow.metadata().name()))
        });
    }
}

pub(super) fn install(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<()> {
    let workflow = lua.create_table()?;
    for kind in WorkflowKind::ALL {
        let ctor = format!("Workflow.{}", kind.as_str());
        workflow.set(
            kind.as_str(),
            engine_function(lua, &weak, move |_, engine, spec: LuaValue| {
                let spec = to_script_value(engine, &spec, &ctor)?;
                let workflow = engine.host.workflow_build(kind, &spec).map_err(fail)?;
                Ok(LuaWorkflow {
                    workflow,
                    host: engine.host.clone(),
                })
            })?,
        )?;
    }

    workflow.set(
        "list",
        engine_function(lua, &weak, |lua, engine, ()| {
            json_to_lua(lua, &engine.host.workflow_list())
        })?,
    )?;

    workflow.set(
        "get",
        engine_function(lua, &weak, |lua, engine, name: LuaValue| {
            let name = arg_string(&name, "Workflow.get: argument 1 (the workflow name)")?;
            match engine.host.workflow_get(&name) {
                Some(workflow) => Ok(LuaValue::UserData(lua.create_userdata(LuaWorkflow {
                    workflow,
                    host: engine.host.clone(),
                })?)),
                None => Ok(LuaValue::Nil),
            }
        })?,
    )?;

    lua.globals().set("Workflow", workflow)
}
