// Drives a Cognito endpoint with Amplify v6 (aws-amplify/auth), as a browser app does, and prints
// one JSON line: {"results": [...]}, one entry per step (tests/local/test_js_clients.py asserts).
//
// Input: one JSON argument {endpoint, userPoolId, clientId, steps}; each step is one of
//   {"op": "signIn", "username", "password"}  signIn, its default flow (USER_SRP_AUTH)
//   {"op": "fetchAuthSession"}                 the signed-in user's tokens (no call)
//   {"op": "refresh"}                          fetchAuthSession({forceRefresh: true}):
//                                              GetTokensFromRefreshToken
//   {"op": "fetchUserAttributes"}              GetUser with the access token
//   {"op": "signOut"}                          RevokeToken with the refresh token
// Each step answers {"ok": true, ...} or {"ok": false, "code", "message"}.
//
// The library is used unchanged: on Node >= 18 it finds the global fetch and Web Crypto, and
// keeps its tokens in memory where there is no localStorage, so nothing is supplied.
import { Amplify } from "aws-amplify";
import {
  fetchAuthSession,
  fetchUserAttributes,
  signIn,
  signOut,
} from "aws-amplify/auth";

const input = JSON.parse(process.argv[2]);
Amplify.configure({
  Auth: {
    Cognito: {
      userPoolId: input.userPoolId,
      userPoolClientId: input.clientId,
      userPoolEndpoint: input.endpoint,
    },
  },
});

function tokens(session) {
  return {
    idToken: session.tokens?.idToken?.toString() ?? null,
    accessToken: session.tokens?.accessToken?.toString() ?? null,
  };
}

const steps = {
  signIn: async (step) => {
    const { isSignedIn, nextStep } = await signIn({
      username: step.username,
      password: step.password,
    });
    return { isSignedIn, signInStep: nextStep.signInStep };
  },
  fetchAuthSession: async () => tokens(await fetchAuthSession()),
  refresh: async () => tokens(await fetchAuthSession({ forceRefresh: true })),
  fetchUserAttributes: async () => ({ attributes: await fetchUserAttributes() }),
  signOut: async () => {
    await signOut();
    return {};
  },
};

const results = [];
for (const step of input.steps) {
  try {
    results.push({ ok: true, ...(await steps[step.op](step)) });
  } catch (err) {
    results.push({ ok: false, code: err.name, message: err.message });
  }
}
process.stdout.write(JSON.stringify({ results }) + "\n");
