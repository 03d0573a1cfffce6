// JSON pointers (RFC 6901) and JSON value equality, for checks: core/json.ts, with the strict equality (a member set
// to undefined is not an absent one) since checks compare values read from the API server.

export { lookupPointer, pointerTokens, type Lookup } from '../core/json.js';
export { jsonEqualStrict as jsonEqual } from '../core/json.js';
