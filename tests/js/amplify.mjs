// Runs amplify_steps.mjs in Node: one JSON argument {endpoint, userPoolId, clientId, steps},
// one JSON line out: {"results": [...]}.
//
// The library is used unchanged: on Node >= 18 it finds the global fetch and Web Crypto, and
// keeps its tokens in memory where there is no localStorage, so nothing is supplied.
import { run } from "./amplify_steps.mjs";

const results = await run(JSON.parse(process.argv[2]));
process.stdout.write(JSON.stringify({ results }) + "\n");
