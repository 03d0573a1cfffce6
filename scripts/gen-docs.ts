// `make docs`: rewrites the generated sections of docs/api.md (from src/api/schema.ts) and docs/cel.md (from the CEL
// registrations in src/core/cel.ts). test/unit/docs.test.ts fails when they drift.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderDocs } from './docs.js';

const root = join(import.meta.dirname, '..');
for (const [path, text] of renderDocs()) {
  writeFileSync(join(root, path), text);
  console.log(`Wrote ${path}`);
}
