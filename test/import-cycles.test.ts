/**
 * The modules of src/ import one another without a circle (type imports included): shared shapes live in types.ts;
 * the folders import one way, from the entry down (index → action → rotation, oidc, fleet → keys, github, aws →
 * config → shared); and no two files of src/ share a name (but the two actions' entry points, index.ts each, as the
 * build wants them: dist/index.js, dist/fleet/index.js).
 */
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

/** The layers, top first: a module may import from its own layer or any below, never from one above. */
const LAYERS: string[][] = [['index'], ['action'], ['rotation', 'oidc', 'fleet'], ['keys', 'github', 'aws'], ['config'], ['shared']];
const layerOf = (module: string) => LAYERS.findIndex((l) => l.includes(module.includes('/') ? module.split('/')[0] : 'index'));

/** Every import that goes up a layer, as `from -> to`. */
function upward(g: Map<string, string[]>): string[] {
  return [...g].flatMap(([from, tos]) => tos.filter((to) => layerOf(to) < layerOf(from)).map((to) => `${from} -> ${to}`));
}

describe('imports', () => {
  it('every folder of src/ is in a layer', () => {
    expect([...graph().keys()].filter((m) => layerOf(m) < 0)).toEqual([]);
  });

  it('the folders import one way: nothing imports a layer above its own (type imports included)', () => {
    expect(upward(graph())).toEqual([]);
  });

  it('the check sees an import upward', () => {
    expect(upward(new Map([['keys/verdict', ['rotation/journal', 'shared/types']], ['rotation/steps', ['keys/verdict']]]))).toEqual([
      'keys/verdict -> rotation/journal',
    ]);
  });

  it('no two files of src/ have the same name', () => {
    const names = [...graph().keys()].map((m) => m.split('/').at(-1) as string).filter((n) => n !== 'index');
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('no module of src/ imports itself back, however far round', () => {
    expect(cycles(graph())).toEqual([]);
  });

  it('the check sees a circle', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toContain('a -> b -> c -> a');
  });
});
