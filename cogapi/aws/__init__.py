"""The one place that talks to AWS: the `Aws` facade.

Only this package talks to AWS. It builds clients with botocore, the core boto3 wraps: importing
boto3 itself also loads s3transfer, about 60 ms of start-up for nothing cogapi uses. `Aws` takes a
botocore (or boto3) session and an injectable `sleep`, returns
plain dicts and lists, and turns every "does not exist" answer, whatever each service calls it,
into `NotFound` (reads return `None` instead). Any other failure becomes an `AwsError` naming the
operation and the resource, so the CLI can print it without a traceback.

It owns the AWS quirks, each marked with a comment (see shared/aws-notes.md):
- botocore `standard` retries with a high attempt count absorb API Gateway's control-plane
  throttling (CreateDeployment 1/5 s, DeleteRestApi 1/30 s, ...).
- `create_function` right after `create_role` fails until IAM propagates; retried with backoff
  for up to ~2 minutes, reporting each wait through `on_wait`.
- Lambda updates conflict while another one runs: wait for `LastUpdateStatus` and retry
  `ResourceConflictException`.
- `add_permission` is check-before-add (AWS rejects a duplicate StatementId, moto does not).
- The REST API's definition goes in one `put_rest_api(mode=overwrite)` with an OpenAPI document
  (one call whatever the number of routes, under PutRestApi's 1/s quota); `get_resources` asks
  for `embed=methods` and follows `position` (AWS embeds only when asked, moto always does and
  never pages).
- Stages are never made with `create_deployment(stageName=...)`: on an existing stage that
  replaces the stage object in moto (tags lost); we create the deployment, then point the stage.

It also counts calls (`calls`, `mutating_calls`) for tests and benchmarks, and honours the test
hook `COGAPI_TEST_KILL_AFTER=N`: SIGKILL this process right after the Nth mutating call returns,
which is how the crash-safety tests stop `up` at every possible point; and
`COGAPI_TEST_CALL_LOG=FILE`: append each call (service, operation, HTTP verb, signed or not) to
FILE, which is how a test checks every call against the policy `cogapi iam-policy` prints.

Layout: `core` holds the clients, call counting and error translation; `cognito`, `iam`,
`lambda_` and `apigateway` hold each service's calls and quirks, as mixins that `Aws` combines, so
callers keep one object. Imports: `cogapi.errors` only (and botocore).
"""

from __future__ import annotations

from cogapi.aws.apigateway import ApiGatewayCalls
from cogapi.aws.cognito import CognitoCalls
from cogapi.aws.core import make_session
from cogapi.aws.iam import IamCalls
from cogapi.aws.lambda_ import LambdaCalls

__all__ = ["Aws", "make_session"]


class Aws(CognitoCalls, IamCalls, LambdaCalls, ApiGatewayCalls):
    """Facade over the five AWS services cogapi uses, bound to one region."""
