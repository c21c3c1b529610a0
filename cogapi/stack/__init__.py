"""Provisioning: the engine behind `up`, `status` and `down`.

Data flows one way: config -> `models.desired_stack` (what should exist, as dataclasses) ->
`discover.discover_stack` (what exists, read-only) -> `planner.plan_up` / `plan_down` (the
difference, as a list of `Change` values, of settings both sides put in `settings`' normal form) -> `executor` (applies a plan, in dependency order) ->
`outputs` (URLs and ids). `context` opens a stack (config, flags, the AWS facade) for every command;
`commands` holds the bodies of `up`, `status`, `down`, `init` and `schema`; `code` packages the
function (the built-in handler lives in `builtin_handler/`); `lookup` finds the stack's pool and
API for the sign-in commands.

Imports: `cogapi.aws`, `cogapi.config`, `cogapi.ui`, `cogapi.errors`, and of `cogapi.local` only
its URL helpers.
"""
