// The repository stands alone: no file in it points at files beside it (a sibling workspace folder, design notes
// kept elsewhere). .ci/run is the one exception: it passes the sibling folder's scenarios as EXTRA_SCENARIOS when that
// folder exists. The patterns are spelled so that this file does not name what it forbids.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';

const root = join(import.meta.dirname, '..', '..');
const SKIP = new Set(['.git', 'node_modules', 'dist', '.cache', '.ci']);
const SIBLING = ['..', 'shared'].join('/');
const OUTSIDE = [new RegExp(`${SIBLING.replaceAll('.', '\\.')}\\b`), /\bDESIGN\.md\b/, /\bSTYLE\.md\b/];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name) || name.startsWith('report')) return [];
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) return files(path);
    return st.isFile() && st.size < 2_000_000 ? [path] : [];
  });
}

describe('the repository stands alone', () => {
  it('no file names the sibling workspace folder, DESIGN.md or STYLE.md (only .ci/run may)', () => {
    const self = relative(root, import.meta.filename);
    const hits = files(root)
      .filter((f) => relative(root, f) !== self)
      .flatMap((f) => {
        const text = readFileSync(f, 'utf8');
        return OUTSIDE.filter((re) => re.test(text)).map((re) => `${relative(root, f)}: ${re.source}`);
      });
    expect(hits).to.deep.equal([]);
  });
});
