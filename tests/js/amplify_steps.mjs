// The steps tests/local/test_js_clients.py has Amplify v6 (aws-amplify/auth) take against a
// Cognito endpoint, as a browser app does: `run(input)` answers one result per step. Node runs
// them through amplify.mjs; Chromium runs them from amplify_browser.mjs, which the test bundles
// with esbuild (Amplify v6 ships no browser bundle), so both run the same code.
//
// Input: {endpoint, userPoolId, clientId, steps}; each step is one of
//   {"op": "signIn", "username", "password"}  signIn, its default flow (USER_SRP_AUTH)
//   {"op": "fetchAuthSession"}                 the signed-in user's tokens (no call)
//   {"op": "refresh"}                          fetchAuthSession({forceRefresh: true}):
//                                              GetTokensFromRefreshToken
//   {"op": "fetchUserAttributes"}              GetUser with the access token
//   {"op": "signOut"}                          RevokeToken with the refresh token
//   {"op": "updateUserAttributes", "attributes"}  UpdateUserAttributes; answers Amplify's
//                                              output per attribute (isUpdated, nextStep)
//   {"op": "confirmUserAttribute", "key", "code"} VerifyUserAttribute with that code
// Each step answers {"ok": true, ...} or {"ok": false, "code", "message"}.
//
// Amplify's Cognito calls go to `endpoint` through Auth.Cognito.userPoolEndpoint, its own
// setting for a Cognito-compatible endpoint; nothing else of the library is changed.
import { Amplify } from "aws-amplify";
import {
  confirmUserAttribute,
  fetchAuthSession,
  fetchUserAttributes,
  signIn,
  signOut,
  updateUserAttributes,
} from "aws-amplify/auth";

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
  updateUserAttributes: async (step) => ({
    output: await updateUserAttributes({ userAttributes: step.attributes }),
  }),
  confirmUserAttribute: async (step) => {
    await confirmUserAttribute({
      userAttributeKey: step.key,
      confirmationCode: step.code,
    });
    return {};
  },
};

export async function run(input) {
  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId: input.userPoolId,
        userPoolClientId: input.clientId,
        userPoolEndpoint: input.endpoint,
      },
    },
  });
  const results = [];
  for (const step of input.steps) {
    try {
      results.push({ ok: true, ...(await steps[step.op](step)) });
    } catch (err) {
      results.push({ ok: false, code: err.name, message: err.message });
    }
  }
  return results;
}
