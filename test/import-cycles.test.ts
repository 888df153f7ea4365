/** The modules of src/ import one another without a circle (type imports included): shared shapes live in types.ts. */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const SRC = join(import.meta.dirname, '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [join(dir, d.name)] : [],
  );
}

/** Each module's local imports (relative to src/, without the extension). */
function graph(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of files(SRC)) {
    const text = readFileSync(file, 'utf8');
    const local = [...text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((m) => relative(SRC, normalize(join(dirname(file), m[1]))));
    out.set(relative(SRC, file).replace(/\.ts$/, ''), local);
  }
  return out;
}

function cycles(g: Map<string, string[]>): string[] {
  const found = new Set<string>();
  const walk = (node: string, path: string[]) => {
    for (const next of g.get(node) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) found.add([...path.slice(at), next].join(' -> '));
      else walk(next, [...path, next]);
    }
  };
  for (const node of g.keys()) walk(node, [node]);
  return [...found];
}

describe('imports', () => {
  it('no module of src/ imports itself back, however far round', () => {
    expect(cycles(graph())).toEqual([]);
  });

  it('the check sees a circle', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toContain('a -> b -> c -> a');
  });
});
