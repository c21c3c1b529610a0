"""The UI contract: results on stdout, errors on stderr without markup, tables only on a terminal."""

from __future__ import annotations

import io

from cogapi.stack.commands import blocked_error
from cogapi.stack.planner import Change, FieldChange, Plan
from cogapi.ui import UI

PLAN = Plan([
    Change("lambda_function", "fn", "update", "arn:fn", (FieldChange("memory_mb", 128, 256),)),
    Change("app_client", "[bold]client", "ok", "c1"),
    Change("user_pool_domain", "d", "blocked", reason="taken by [red]pool-2", hint="pick another"),
])  # fmt: skip


def _ui(interactive: bool) -> tuple[UI, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return UI(stdout=out, stderr=err, interactive=interactive), out, err


def test_plain_plan_is_one_greppable_line_per_resource() -> None:
    ui, out, err = _ui(False)
    ui.plan(PLAN, "Plan:")
    blocked = blocked_error(PLAN, "nothing was changed")
    lines = out.getvalue().splitlines()
    assert lines[0] == "Plan:"
    assert lines[1].split() == [
        "update",
        "lambda_function",
        "fn",
        "(arn:fn)",
        "memory_mb:",
        "128",
        "->",
        "256",
    ]
    assert lines[-2].split() == ["blocked", "user_pool_domain", "d", "taken", "by", "[red]pool-2"]
    assert lines[-1] == "Plan: 1 to update, 1 blocked."
    assert "┃" not in out.getvalue()  # no table off a terminal
    # the blocked row's error is the command's, printed once (`blocked_error`), not the plan's
    assert err.getvalue() == ""
    ui.error(blocked.message, blocked.hint)
    assert err.getvalue() == (
        "error: user_pool_domain d: taken by [red]pool-2; nothing was changed\nhint: pick another\n"
    )


def test_a_blocked_plan_stops_with_one_error_counting_the_others() -> None:
    two = Plan([*PLAN.changes, Change("iam_role", "r", "blocked", reason="not ours")])
    error = blocked_error(two, "nothing was deleted")
    assert error.message == (
        "user_pool_domain d: taken by [red]pool-2 (and 1 more blocked change(s), listed in the "
        "plan); nothing was deleted"
    )
    assert error.hint == "pick another"


def test_terminal_table_prints_aws_text_literally() -> None:
    ui, out, _ = _ui(True)
    ui.plan(PLAN, "Plan:")
    text = out.getvalue()
    assert "┃ action" in text
    assert "[bold]client" in text  # a name is never read as rich markup


def test_json_mode_prints_no_plan_text() -> None:
    out, err = io.StringIO(), io.StringIO()
    ui = UI(output="json", stdout=out, stderr=err, interactive=False)
    ui.plan(PLAN, "Plan:")
    ui.result("ignored in json mode")
    ui.emit_json({"a": 1})
    assert out.getvalue().strip() == '{\n  "a": 1\n}'


def test_status_rows_off_a_terminal() -> None:
    ui, out, _ = _ui(False)
    ui.status(
        [
            {
                "kind": "stage",
                "name": "test",
                "id": "s",
                "state": "drifted",
                "drift": ["deployment: a -> b"],
            }
        ]
    )
    assert out.getvalue().split() == [
        "drifted",
        "stage",
        "test",
        "(s)",
        "deployment:",
        "a",
        "->",
        "b",
    ]


def test_plan_details_speak_the_configs_language() -> None:
    plan = Plan([
        Change("app_client", "c", "update", "c1", (
            FieldChange("access_token_minutes", 60, 120),
            FieldChange("refresh_token_minutes", 43200, 1440),
            FieldChange("auth_flows", ["ALLOW_REFRESH_TOKEN_AUTH"], ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"]),
        )),
        Change("user_pool", "p", "update", "p1", (
            FieldChange("deletion_protection", "INACTIVE", "ACTIVE"),
            FieldChange("mfa", "OFF", "ON"),
            FieldChange("password_policy", {"MinimumLength": 8}, {"MinimumLength": 12}),
            FieldChange("email", {"EmailSendingAccount": "COGNITO_DEFAULT"},
                        {"EmailSendingAccount": "DEVELOPER", "SourceArn": "arn:ses"}),
        )),
        Change("lambda_function", "fn", "update", "arn:fn", (
            FieldChange("memory_mb", 128, 256),
            FieldChange("role_arn", "arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"),
            FieldChange("code_sha256", "abc=", "def="),
        )),
    ])  # fmt: skip
    ui, out, _ = _ui(False)
    ui.plan(plan, "Plan:")
    text = out.getvalue()
    for words in (
        "token_validity.access: 1h -> 2h", "token_validity.refresh: 30d -> 1d",
        "auth_flows: [refresh_token] -> [refresh_token, user_password]",
        "deletion_protection: false -> true", "mfa: off -> required",
        "password_policy: {min_length: 8} -> {min_length: 12}",
        "email: {sender: cognito} -> {sender: ses, source_arn: arn:ses}",
        "memory_mb: 128 -> 256", "role_name: a -> b", "source: the code changed",
    ):  # fmt: skip
        assert words in text, words
    for aws_word in (
        "ALLOW_",
        "_minutes",
        "ACTIVE",
        "MinimumLength",
        "EmailSendingAccount",
        "arn:aws:iam",
    ):
        assert aws_word not in text, aws_word


def test_terminal_tables_fit_80_columns_and_drop_empty_columns() -> None:
    fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-API-function"
    plan = Plan([
        Change("user_pool", "test-userPool", "ok", "us-east-1_AbCdEf123"),
        Change("app_client", "test-Client", "update", "1example23456789abcdefghij",
               (FieldChange("access_token_minutes", 60, 120), FieldChange("callback_urls",
                ["http://localhost:8765/callback"], ["http://localhost:8765/callback", "https://app.example.com/callback"]))),
        Change("lambda_function", "test-API-function", "update", fn_arn, (FieldChange("memory_mb", 128, 256),)),
    ])  # fmt: skip
    ui, out, _ = _ui(True)
    ui.plan(plan, "Plan:")
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    text = out.getvalue()
    for token in (
        "us-east-1_AbCdEf123",
        "1example23456789abcdefghij",
        "function:test-API-function",
    ):
        assert token in text, token  # an id is never cut in the middle

    ui, out, _ = _ui(True)
    ui.plan(Plan([Change("user_pool", "test-userPool", "create")]), "Plan:")
    header = next(line for line in out.getvalue().splitlines() if "action" in line)
    assert "kind" in header and "name" in header
    assert "id" not in header.split() and "details" not in header  # empty: left out
