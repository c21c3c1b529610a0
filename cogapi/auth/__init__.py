"""The sign-in client: what `token`, `call`, `verify` and `user` do.

`hosted_ui` builds the authorize URL (state, PKCE) and exchanges codes; `callback_server` catches
the redirect on 127.0.0.1; `sign_in.TokenService` signs in, refreshes and caches (`token_cache`,
mode 0600) tokens that `jwt_verify` checked against the pool's JWKS; `http_request` is the one
plain-HTTP helper; `users` manages test users; `call` and `verify` call the deployed API;
`commands` holds the command bodies.

Data flows: a stack opened by `cogapi.stack.context` -> its pool, client and hosted-UI URL -> a
verified token -> a call. Imports: `cogapi.stack` (to open the stack and find its ids),
`cogapi.config`, `cogapi.ui`, `cogapi.errors`, and of `cogapi.local` only its URL helpers.
"""
