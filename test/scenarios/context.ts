// What a scenario's code needs from the outside, passed in (docs/development.md, Code principles 5).

import type { RawObjectApi } from '../../src/kube/client.js';
import type { Kinds } from '../../src/scenario/kube.js';
import type { Timing } from './poll.js';
import type { TemplateContext } from '../../src/scenario/templates.js';

export interface ScenarioContext {
  readonly api: RawObjectApi;
  readonly discovery: Kinds;
  readonly timing: Timing;
  readonly templates: TemplateContext;
  /** Progress lines (stderr), not part of the table. */
  readonly log: (line: string) => void;
}

/** A reference to one object, as cleanup and uid lookups need it. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export { refText } from '../../src/scenario/describe.js';

export class SetupError extends Error {
  override readonly name = 'SetupError';
}
