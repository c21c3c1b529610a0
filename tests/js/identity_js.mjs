// Runs identity_js_steps.mjs in Node: one JSON argument {endpoint, userPoolId, clientId, steps},
// one JSON line out: {"results": [...]}.
//
// The library is used unchanged: on Node >= 18 it finds the global fetch (through
// isomorphic-unfetch) and Node's crypto for its random SRP secret, so nothing is supplied.
import { run } from "./identity_js_steps.mjs";

const results = await run(JSON.parse(process.argv[2]));
process.stdout.write(JSON.stringify({ results }) + "\n");
