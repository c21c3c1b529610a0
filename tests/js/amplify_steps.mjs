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
//   {"op": "confirmSignInWithTotp", "secret"?, "wrong"?}  confirmSignIn with the authenticator
//                                              code of `secret`, or of the secret the last
//                                              signIn's TOTP setup step gave (`wrong`: another
//                                              code): VerifySoftwareToken + MFA_SETUP, or the
//                                              SOFTWARE_TOKEN_MFA challenge
//   {"op": "confirmSignInWithTexted", "username", "wrong"?}  confirmSignIn with the SMS code
//                                              the last signIn "texted" to `username`, read
//                                              from the local outbox (`wrong`: another code)
// Each step answers {"ok": true, ...} or {"ok": false, "code", "message"}.
//
// Amplify's Cognito calls go to `endpoint` through Auth.Cognito.userPoolEndpoint, its own
// setting for a Cognito-compatible endpoint; nothing else of the library is changed.
import { Amplify } from "aws-amplify";
import {
  confirmSignIn,
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

// An authenticator app's code (RFC 6238: HMAC-SHA1 of the 30 s step, 6 digits), with the Web
// Crypto API that Node and browsers share. The server checks it against its own, which the
// Python tests check against pyotp's.
async function totpCode(secret) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/=+$/, "").toUpperCase()) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  }
  const key = new Uint8Array(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = new DataView(new ArrayBuffer(8));
  counter.setBigUint64(0, BigInt(Math.floor(Date.now() / 1000 / 30)));
  const hmacKey = await crypto.subtle.importKey(
    "raw", key, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, counter.buffer));
  const o = mac[mac.length - 1] & 0x0f;
  const value = ((mac[o] & 0x7f) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(value % 1000000).padStart(6, "0");
}

let setupSecret = null; // the secret the last signIn's CONTINUE_SIGN_IN_WITH_TOTP_SETUP gave

const steps = {
  signIn: async (step) => {
    const { isSignedIn, nextStep } = await signIn({
      username: step.username,
      password: step.password,
    });
    setupSecret = nextStep.totpSetupDetails?.sharedSecret ?? null;
    const setup = setupSecret ? { sharedSecret: setupSecret } : {};
    const delivery = nextStep.codeDeliveryDetails
      ? { codeDeliveryDetails: nextStep.codeDeliveryDetails }
      : {};
    return { isSignedIn, signInStep: nextStep.signInStep, ...setup, ...delivery };
  },
  confirmSignInWithTexted: async (step, input) => {
    // the local stand-in's outbox: what a phone would have received
    const url = `${input.endpoint}/_cogapi/outbox?pool_id=${encodeURIComponent(input.userPoolId)}`;
    const { messages } = await (await fetch(url)).json();
    const texted = messages.filter(
      (m) => m.username === step.username && m.purpose === "sign-in");
    const code = texted[texted.length - 1].code;
    const given = step.wrong ? String((Number(code) + 1) % 1000000).padStart(6, "0") : code;
    const { isSignedIn, nextStep } = await confirmSignIn({ challengeResponse: given });
    return { isSignedIn, signInStep: nextStep.signInStep };
  },
  confirmSignInWithTotp: async (step) => {
    const code = await totpCode(step.secret ?? setupSecret);
    const given = step.wrong ? String((Number(code) + 1) % 1000000).padStart(6, "0") : code;
    const { isSignedIn, nextStep } = await confirmSignIn({ challengeResponse: given });
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
      results.push({ ok: true, ...(await steps[step.op](step, input)) });
    } catch (err) {
      results.push({ ok: false, code: err.name, message: err.message });
    }
  }
  return results;
}
