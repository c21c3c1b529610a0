"""`cogapi local`: moto's control plane plus a stand-in for the parts of AWS moto does not serve.

moto answers the control-plane calls (Cognito, API Gateway, Lambda, IAM) but serves no hosted UI,
no `/oauth2/*`, no execute-api data plane and runs no Lambda code without Docker. This package adds
those behind one prefix (`urls.LOCAL_PREFIX`) on the same loopback server:

- `urls`      where things are served (pure; the CLI imports only this to print URLs)
- `tokens`    signing keys, JWT minting and verification
- `moto_state` the only module that reads moto's in-process backends
- `edge`      hosted UI (`/login`, `/signup`, `/logout`) and OAuth endpoints, JWKS, discovery
- `machine_clients` the `client_credentials` grant of `/oauth2/token` (tokens for services)
- `resource_servers` moto's missing UpdateResourceServer / DeleteResourceServer, scope checks
- `dataplane` API Gateway REST: routing, Cognito authorizer, proxy event, response mapping
- `runner`    runs a handler from the function's zip in a separate Python process
- `server`    `LocalServer`: one threaded werkzeug server dispatching to moto or the stand-in

Known differences from AWS (each a deliberate simplification):
- One key pair per server signs for every pool (AWS: per pool); `iss` still tells pools apart.
- Sign-up confirms the user at once with `email_verified=true` (no mailbox locally).
- No hosted-UI session cookie: every `/oauth2/authorize` shows the form again.
- Federated identity providers, MFA and the change-password page are not
  emulated; authorizer result caching is not emulated (every call is checked).
- A deployment made without passing through the server's HTTP port (in-process `mock_aws`) is
  served from the live API, not a snapshot.
- The Lambda permission check accepts a `SourceArn` pattern that matches either the resource
  template or the concrete path (AWS's exact form is not pinned by any test here).
"""
