// The steps tests/local/test_js_clients.py has amazon-cognito-identity-js take against a Cognito
// endpoint, as a browser app does: `run(input)` answers one result per step. Node runs them
// through identity_js.mjs; Chromium imports this module into a page (the page maps the
// library's name to the browser bundle it loaded), so both run the same code.
//
// Input: {endpoint, userPoolId, clientId, steps}; each step is one of
//   {"op": "signIn", "username", "password"}   authenticateUser (USER_SRP_AUTH + PASSWORD_VERIFIER)
//   {"op": "getUserAttributes"}                 GetUser with the last session's access token
//   {"op": "changePassword", "old", "new"}      ChangePassword with that access token
//   {"op": "refreshSession"}                    InitiateAuth(REFRESH_TOKEN_AUTH) with its refresh token
// Each step answers {"ok": true, ...} or {"ok": false, "code", "message"}; the steps after a
// signIn act on the user it signed in (a failed signIn leaves the user unchanged).
import cognito from "amazon-cognito-identity-js";

const { AuthenticationDetails, CognitoUser, CognitoUserPool } = cognito;

function userPool(input) {
  return new CognitoUserPool({
    UserPoolId: input.userPoolId,
    ClientId: input.clientId,
    endpoint: input.endpoint,
  });
}

function tokens(session) {
  return {
    idToken: session.getIdToken().getJwtToken(),
    accessToken: session.getAccessToken().getJwtToken(),
    refreshToken: session.getRefreshToken().getToken(),
  };
}

function failure(err) {
  return { ok: false, code: err.code ?? err.name, message: err.message };
}

function signIn(input, step) {
  const pool = userPool(input);
  const user = new CognitoUser({ Username: step.username, Pool: pool });
  const details = new AuthenticationDetails({ Username: step.username, Password: step.password });
  return new Promise((resolve) => {
    user.authenticateUser(details, {
      onSuccess: (session) => resolve({ user, answer: { ok: true, ...tokens(session) } }),
      onFailure: (err) => resolve({ user: null, answer: failure(err) }),
      newPasswordRequired: () => resolve({ user: null, answer: { ok: false, code: "newPasswordRequired" } }),
      mfaRequired: () => resolve({ user: null, answer: { ok: false, code: "mfaRequired" } }),
      totpRequired: () => resolve({ user: null, answer: { ok: false, code: "totpRequired" } }),
    });
  });
}

// A node-style callback as a promise of one step's answer.
function answer(call, onResult) {
  return new Promise((resolve) => {
    call((err, result) => resolve(err ? failure(err) : { ok: true, ...onResult(result) }));
  });
}

const steps = {
  getUserAttributes: (user) =>
    answer(
      (done) => user.getUserAttributes(done),
      (attributes) => ({
        attributes: Object.fromEntries(attributes.map((a) => [a.getName(), a.getValue()])),
      }),
    ),
  changePassword: (user, step) =>
    answer((done) => user.changePassword(step.old, step.new, done), () => ({})),
  refreshSession: (user) =>
    answer(
      (done) => user.refreshSession(user.getSignInUserSession().getRefreshToken(), done),
      tokens,
    ),
};

export async function run(input) {
  const results = [];
  let current = null;
  for (const step of input.steps) {
    if (step.op === "signIn") {
      const { user, answer: signedIn } = await signIn(input, step);
      current = user ?? current;
      results.push(signedIn);
    } else if (current === null) {
      results.push({ ok: false, code: "NoUser", message: `${step.op} before a successful signIn` });
    } else {
      results.push(await steps[step.op](current, step));
    }
  }
  return results;
}
