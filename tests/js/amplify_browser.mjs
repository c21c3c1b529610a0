// The entry of the page bundle for the Chromium test of Amplify v6: esbuild bundles this file,
// Amplify included, into one script (iife, browser platform), as an app's build does, and the
// page calls `window.amplifySteps(input)`, which answers {results: [...]} as amplify.mjs prints
// it. In a browser Amplify keeps its tokens in the page's localStorage and calls the endpoint
// with the page's fetch, so its requests are CORS requests when the endpoint is another origin.
import { run } from "./amplify_steps.mjs";

window.amplifySteps = async (input) => ({ results: await run(input) });
