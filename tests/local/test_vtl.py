"""The VTL subset the local stand-in renders mapping templates with."""

from __future__ import annotations

import json

from cogapi.local.vtl import Scope, render

ECHO_ORIGIN = (  # the preflight template that answers with the request's Origin when listed
    '#set($allowed = ["https://a.example", "https://b.example"])\n'
    "#set($origin = $input.params().header.get('Origin'))\n"
    "#if($allowed.contains($origin))"
    "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)#end\n"
)


def scope(origin: str | None = None, **kw: object) -> Scope:
    headers = {"Origin": origin} if origin else {}
    return Scope(
        context=kw.pop("context", {"requestId": "r-1"}),  # type: ignore[arg-type]
        body=str(kw.pop("body", "")),
        params={"path": {"id": "42"}, "querystring": {"id": "q", "q": "x"}, "header": headers},
    )


def test_listed_origin_overrides_the_header() -> None:
    listed = scope("https://b.example")
    assert render(ECHO_ORIGIN, listed).strip() == ""
    assert listed.header_overrides == {"Access-Control-Allow-Origin": "https://b.example"}
    unlisted = scope("https://evil.example")
    render(ECHO_ORIGIN, unlisted)
    assert unlisted.header_overrides == {}
    no_origin = scope()
    render(ECHO_ORIGIN, no_origin)
    assert no_origin.header_overrides == {}


def test_if_elseif_else_and_nesting() -> None:
    template = (
        "#set($n = 2)"
        "#if($n == 1)one#elseif($n == 2)two#if(!$missing) and not missing#end#else other#end"
        "|#if($n != 2)x#{else}y#{end}"
    )
    assert render(template, scope()) == "two and not missing|y"
    assert render('{"a": 1#if(true), "b": 2#end}', scope()) == '{"a": 1, "b": 2}'


def test_input_body_json_and_params() -> None:
    s = scope(body='{"a": [1, 2]}')
    out = render(
        "$input.json('$')|$input.body|$input.params('id')|$input.params('q')|"
        "$input.params().path.get('id')",
        s,
    )
    assert out == '{"a": [1, 2]}|{"a": [1, 2]}|42|x|42'  # path before querystring


def test_context_references_and_undefined_ones() -> None:
    s = scope(context={"authorizer": {"claims": {"cognito:username": "alice", "sub": "s"}}})
    assert render("$context.authorizer.claims['cognito:username']", s) == "alice"
    assert render("$context.authorizer.claims.cognito:username", s) == ":username"
    assert render("${context.authorizer.claims.sub}/$context.nothing", s) == "s/"
    assert render("$undefined|$!undefined|a #b c", s) == "$undefined||a #b c"


def test_a_json_template_keeps_its_braces() -> None:
    s = scope(context={"error": {"messageString": json.dumps("Unauthorized")}})
    assert json.loads(render('{"message":$context.error.messageString}', s)) == {
        "message": "Unauthorized"
    }


def test_status_override_and_comments() -> None:
    s = scope()
    out = render("## a comment\n#set($context.responseOverride.status = 201)\nbody", s)
    assert out == "body" and s.status_override == 201
