"""The hosted UI's HTML: plain forms a browser (or a test with a cookie jar) can drive."""

from __future__ import annotations

from html import escape

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:24rem;margin:3rem auto}}
label,input,button{{display:block;width:100%;margin:.3rem 0}}.error{{color:#b00}}
.note{{color:#666;font-size:.85rem}}</style></head>
<body><h1>{title}</h1>{body}
<p class="note">cogapi local: a stand-in for the Cognito hosted UI.</p></body></html>
"""


def _page(title: str, body: str) -> str:
    return _PAGE.format(title=escape(title), body=body)


def _error(message: str | None) -> str:
    return f'<p class="error" id="error">{escape(message)}</p>' if message else ""


def login_page(
    action: str,
    csrf: str,
    error: str | None = None,
    signup_url: str | None = None,
    username: str = "",
) -> str:
    signup = (
        f'<p>Need an account? <a href="{escape(signup_url)}">Sign up</a></p>' if signup_url else ""
    )
    return _page(
        "Sign in",
        f"""{_error(error)}
<form method="post" action="{escape(action)}">
<input type="hidden" name="_csrf" value="{escape(csrf)}">
<label for="username">Username</label>
<input id="username" name="username" type="text" value="{escape(username)}" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" name="signInSubmitButton">Sign in</button>
</form>{signup}""",
    )


def _attribute_field(name: str) -> str:
    """A required field for one user pool attribute (`given_name` reads "Given name")."""
    label = name.removeprefix("custom:").replace("_", " ").capitalize()
    kind = "tel" if name == "phone_number" else "text"
    return (
        f'<label for="{escape(name)}">{escape(label)}</label>\n'
        f'<input id="{escape(name)}" name="{escape(name)}" type="{kind}" required>\n'
    )


def signup_page(
    action: str,
    csrf: str,
    email_is_username: bool,
    error: str | None = None,
    login_url: str = "",
    attributes: tuple[str, ...] = (),
) -> str:
    """The sign-up form: a user name (unless the email address is one), the email address, a
    field for each of `attributes` (the pool's other required ones) and the password."""
    username = (
        ""
        if email_is_username
        else """<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required>"""
    )
    fields = "".join(_attribute_field(name) for name in attributes)
    return _page(
        "Sign up",
        f"""{_error(error)}
<form method="post" action="{escape(action)}">
<input type="hidden" name="_csrf" value="{escape(csrf)}">
{username}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required>
{fields}<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required>
<button type="submit" name="signUpButton">Sign up</button>
</form><p>Already have an account? <a href="{escape(login_url)}">Sign in</a></p>""",
    )


def confirm_page(
    action: str,
    csrf: str,
    destination: str,
    error: str | None = None,
    notice: str | None = None,
) -> str:
    sent = (
        f"<p>We have sent a code by email to {escape(destination)}. "
        "Enter it below to confirm your account.</p>"
    )
    note = f'<p id="notice">{escape(notice)}</p>' if notice else ""
    return _page(
        "Confirm your account",
        f"""{_error(error)}{note}{sent if destination else ""}
<form method="post" action="{escape(action)}">
<input type="hidden" name="_csrf" value="{escape(csrf)}">
<label for="code">Verification code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code">
<button type="submit" name="confirm">Confirm account</button>
<button type="submit" name="resend" value="1" formnovalidate>Send a new code</button>
</form>""",
    )


def mfa_page(
    action: str,
    csrf: str,
    ticket: str,
    secret: str | None = None,
    error: str | None = None,
    texted_to: str | None = None,
) -> str:
    """The second factor's code after the password: the authenticator's; with `secret`, the
    setup of one first (its secret as text and as an otpauth URI, as AWS's page shows it besides
    a QR code); with `texted_to`, the code texted to that (masked) number."""
    if texted_to:
        setup = f'<p id="texted">We texted a code to {escape(texted_to)}. Enter it below.</p>'
    elif secret:
        setup = f"""<p>Set up an authenticator app with this secret key:</p>
<p><code id="secret">{escape(secret)}</code></p>
<p class="note" id="otpauth">otpauth://totp/cogapi-local?secret={escape(secret)}</p>"""
    else:
        setup = "<p>Enter the code from your authenticator app.</p>"
    return _page(
        "Multi-factor authentication",
        f"""{_error(error)}{setup}
<form method="post" action="{escape(action)}">
<input type="hidden" name="_csrf" value="{escape(csrf)}">
<input type="hidden" name="mfa_ticket" value="{escape(ticket)}">
<label for="totp">Code</label>
<input id="totp" name="totp" type="text" inputmode="numeric" autocomplete="one-time-code" required>
<button type="submit" name="mfa">Sign in</button>
</form>""",
    )


def error_page(error: str, description: str = "") -> str:
    detail = f"<p>{escape(description)}</p>" if description else ""
    return _page(
        "An error was encountered with the requested page.",
        f'<p class="error" id="error">{escape(error)}</p>{detail}',
    )
