// V8's linear-time regexp engine (RegExp flag `l`), which core/cel-cost.ts uses for CEL's `matches` so that no
// pattern can backtrack exponentially (CEL's dialect is RE2, which is linear-time too). Off by default in Node; every
// Suture entry point turns it on before it compiles a policy.
import { setFlagsFromString } from 'node:v8';

/** Enables RegExp's `l` flag in this process (idempotent). */
export function enableLinearRegExp(): void {
  setFlagsFromString('--enable-experimental-regexp-engine');
}
