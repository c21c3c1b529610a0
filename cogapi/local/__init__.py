"""`cogapi local`: moto's control plane plus a stand-in for the parts of AWS moto does not serve.

moto answers the control-plane calls (Cognito, API Gateway, Lambda, IAM) but serves no hosted UI,
no `/oauth2/*`, no execute-api data plane and runs no Lambda code without Docker. This package adds
those behind one prefix (`urls.LOCAL_PREFIX`) on the same loopback server:

- `urls`      where things are served (pure; the CLI imports only this to print URLs)
- `tokens`    signing keys, JWT minting and verification
- `srp`       the server side of Cognito's SRP sign-in (pure)
- `moto_state` the only module that reads moto's in-process backends
- `edge`      hosted UI (`/login`, `/signup`, `/logout`) and OAuth endpoints, JWKS, discovery
- `grants`    the tokens the stand-in issues and the refresh tokens it keeps (and revokes)
- `codes`     the codes Cognito would send by email or SMS, and the outbox standing in for both
- `cognito_api` Cognito's sign-in and user APIs as AWS answers them, in front of moto's:
  it dispatches to `cognito_signin` (flows, SRP, refresh) and `cognito_user_calls` (the
  calls that take a token, recovery); `cognito_front` holds what both share
- `apigw_import` patches moto so PutRestApi/ImportRestApi apply an OpenAPI document as AWS does
- `api_document` that document read and checked whole as API Gateway reads it (pure)
- `machine_clients` the `client_credentials` grant of `/oauth2/token` (tokens for services)
- `resource_servers` moto's missing UpdateResourceServer / DeleteResourceServer, scope checks
- `iam_policies` moto's AWS managed policies built once per process, copied per account
- `moto_errors` JSON errors where moto would raise: bad Cognito bodies, actions it lacks, crashes
- `dataplane` API Gateway REST: routing, proxy event, Lambda integrations, response mapping
- `proxy_answer` a Lambda proxy answer checked as API Gateway checks it, and sent as WSGI
- `authorizer` API Gateway's Cognito authorizer, as AWS checks a token
- `software_tokens` TOTP MFA: each user's secret, the codes checked (moto takes any)
- `mfa`       which second factor a sign-in asks for, as Cognito decides it (pure)
- `lockout`   Cognito's lockout after five failed sign-ins ("Password attempts exceeded")
- `gateway_errors` the answers the gateway gives itself (401, 403, 413, 500, 502, 504)
- `runner`    runs a handler from the function's zip on warm workers, one pool per function
- `workers`   the worker processes and their pool, and how what a handler starts is contained
- `guard`     which requests are answered at all: loopback `Host` only, no CORS on the control plane
- `response_mapping` the gateway's own answers: gateway responses, MOCK, header mappings
- `vtl`       the subset of Velocity that mapping templates are rendered with
- `server`    `LocalServer`: one threaded werkzeug server dispatching to moto or the stand-in
- `dataplane_http` the data plane's own HTTP/1.1 handling (keep-alive, one send per answer)
- `accepting` the server's threads: each accepts the connection it then serves

Known differences from AWS (each a deliberate simplification):
- One key pair per server signs for every pool (AWS: per pool); `iss` still tells pools apart.
- The tokens' issuer is `<endpoint>/<pool id>` (AWS: `https://cognito-idp.<region>.amazonaws.com/
  <pool id>`); its JWKS and discovery document are served there.
- SRP's password verifier is derived from the password moto stores, when the challenge is made.
- No email or SMS is sent: the codes go to the outbox (`codes`), printed in the terminal and
  listed at `/_cogapi/outbox`; ConfirmSignUp, ConfirmForgotPassword and VerifyUserAttribute take
  only the last one sent. The user-existence rules cover the sign-in flows, ForgotPassword,
  ConfirmForgotPassword, ResendConfirmationCode and ConfirmSignUp. No attempt limit on the
  codes (LimitExceededException) is emulated; sign-in's lockout is (`lockout`).
- The hosted UI's sign-up asks for the emailed code on `/confirm` as AWS's does, in a page and
  at a path of its own (AWS's markup is not copied).
- Refresh token rotation is not emulated: `GetTokensFromRefreshToken` answers as AWS does with
  rotation off (no new refresh token).
- CORS on the control plane: only pages on loopback origins, only for the user-pool calls AWS
  serves to browsers (`guard.USER_POOL_CALLS`); AWS grants those to every origin.
- The hosted UI's session (`edge`) is kept in memory, like the codes: it ends with the server.
  Its cookie is `SameSite=Lax` (plain HTTP allows no `SameSite=None`): a sign-in's top-level
  redirects carry it, a hidden iframe on another site's page does not.
- An app client without ReadAttributes reads every attribute (`ClientView.readable`): AWS's
  API reference says the standard ones and the verification flags, CDK's documentation all of
  them. A client with ReadAttributes reads only those, as on AWS. ID tokens carry every readable
  attribute whatever the scopes; only userInfo is documented to narrow them by scope.
- TOTP MFA is checked for real (`software_tokens`), and SMS MFA is asked for as Cognito asks
  (`mfa`: SMS_MFA with its code in the outbox, SELECT_MFA_TYPE, MFA_SETUP), in the API and the
  hosted UI. Where the pool offers TOTP alone, moto's choice of step stands. The hosted UI asks
  a user with both factors for the authenticator's code (AWS lets them choose). Email MFA,
  federated identity providers and the change-password page are not emulated (a TOTP code may
  be used twice; the masked number's exact form is not pinned by
  an AWS capture); authorizer result caching is not emulated (every call is checked).
- A deployment made without passing through the server's HTTP port (in-process `mock_aws`) is
  served from the live API, not a snapshot; and a change made that way is seen by the data plane
  only after the server's next request that is not a data-plane one (`moto_state.generation`).
- Functions run on warm workers (up to 4 per function, module state kept between calls, as in a
  warm Lambda); a process a handler starts is killed before its call is answered (Lambda freezes
  it until the next call instead).
- OpenAPI import (`apigw_import`, OpenAPI 3.0 and Swagger 2.0): schemas become no models
  (method responses still name them); of several `security` alternatives only the first
  counts; documentation parts, request validators and the endpoint configuration are ignored
  (the resource policy is stored, never enforced). GetExport is still moto's (Swagger 2,
  without the extensions).
- The data plane answers MOCK integrations, non-proxy integration-response headers and every
  gateway response (status, headers). Mapping templates, request and response, render in a VTL
  subset (`#set`, `#if`, `$context`, `$input`, `$context.responseOverride`; no loops, macros or
  `$util`). It evaluates no TOKEN/REQUEST (Lambda) authorizer, IAM auth or API key, throttles
  nothing (THROTTLED is never produced), and runs no HTTP integration. A Cognito refusal,
  expiry included, is UNAUTHORIZED.
- The Lambda permission check accepts a `SourceArn` pattern that matches either the resource
  template or the concrete path (AWS's exact form is not pinned by any test here).
"""
