// `make manifests`: writes crds/ and config/crd/ from the single source of the API (src/api/schema.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderManifests } from './manifests.js';

const root = join(import.meta.dirname, '..');
for (const [path, text] of renderManifests()) {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
  console.log(`Wrote ${path}`);
}
