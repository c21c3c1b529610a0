"""`cogapi local`: moto's control plane plus a stand-in for the parts of AWS moto does not serve.

moto answers the control-plane calls (Cognito, API Gateway, Lambda, IAM) but serves no hosted UI,
no `/oauth2/*`, no execute-api data plane and runs no Lambda code without Docker. This package adds
those behind one prefix (`urls.LOCAL_PREFIX`) on the same loopback server:

- `urls`      where things are served (pure; the CLI imports only this to print URLs)
- `tokens`    signing keys, JWT minting and verification
- `moto_state` the only module that reads moto's in-process backends
- `edge`      hosted UI (`/login`, `/signup`, `/logout`) and OAuth endpoints, JWKS, discovery
- `dataplane` API Gateway REST: routing, Cognito authorizer, proxy event, response mapping
- `runner`    runs a handler from the function's zip in a separate Python process
- `server`    `LocalServer`: one threaded werkzeug server dispatching to moto or the stand-in
"""
