"""`cogapi local`: moto's control plane plus a stand-in for the parts of AWS moto does not serve.

moto answers the control-plane calls (Cognito, API Gateway, Lambda, IAM) but serves no hosted UI,
no `/oauth2/*`, no execute-api data plane and runs no Lambda code without Docker. This package adds
those behind one prefix (`urls.LOCAL_PREFIX`) on the same loopback server:

- `urls`      where things are served (pure; the CLI imports only this to print URLs)
- `tokens`    signing keys, JWT minting and verification
- `moto_state` the only module that reads moto's in-process backends
- `edge`      hosted UI (`/login`, `/signup`, `/logout`) and OAuth endpoints, JWKS, discovery
- `apigw_import` patches moto so PutRestApi/ImportRestApi apply an OpenAPI 3 document as AWS does
- `dataplane` API Gateway REST: routing, Cognito authorizer, proxy event, response mapping
- `response_mapping` the gateway's own answers: gateway responses, MOCK, header mappings
- `runner`    runs a handler from the function's zip in a separate Python process
- `server`    `LocalServer`: one threaded werkzeug server dispatching to moto or the stand-in

Known differences from AWS (each a deliberate simplification):
- One key pair per server signs for every pool (AWS: per pool); `iss` still tells pools apart.
- Sign-up confirms the user at once with `email_verified=true` (no mailbox locally).
- No hosted-UI session cookie: every `/oauth2/authorize` shows the form again.
- `client_credentials`, federated identity providers, MFA and the change-password page are not
  emulated; authorizer result caching is not emulated (every call is checked).
- A deployment made without passing through the server's HTTP port (in-process `mock_aws`) is
  served from the live API, not a snapshot.
- OpenAPI import (`apigw_import`, OpenAPI 3.0 and Swagger 2.0): schemas become no models
  (method responses still name them); of several `security` alternatives only the first
  counts; documentation parts, request validators, `x-amazon-apigateway-policy`, binary media
  types and the other API-level extensions are ignored. GetExport is still moto's (Swagger 2,
  without the extensions).
- The data plane answers MOCK integrations, non-proxy integration-response headers and every
  gateway response (status, headers, `$context` templates; no general VTL), but evaluates no
  TOKEN/REQUEST (Lambda) authorizer, IAM auth or API key, throttles nothing (THROTTLED is never
  produced), and runs no HTTP integration. A Cognito refusal, expiry included, is UNAUTHORIZED.
- The Lambda permission check accepts a `SourceArn` pattern that matches either the resource
  template or the concrete path (AWS's exact form is not pinned by any test here).
"""
