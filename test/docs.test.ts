/**
 * Mechanical checks of the user documentation: README.md, examples/ and .github/workflows/.
 *
 * - every ```yaml block in README.md and every workflow file parses as YAML;
 * - every step that uses this action passes only inputs that action.yml declares, and github-token;
 * - every steps.<id>.outputs.<name> that points at this action's step names an output action.yml declares;
 * - every cron schedule has five fields and does not run every minute;
 * - the README's inputs and outputs tables match action.yml exactly (names, defaults);
 * - each example file is a complete workflow and appears verbatim in the README;
 * - the README keeps its sections in order and the newcomer's two commands.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { parseDocument } from 'yaml';

const ROOT = new URL('../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');

interface ActionYml {
  inputs: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description?: string }>;
}

const action = parseDocument(read('action.yml')).toJS() as ActionYml;
const INPUTS = Object.keys(action.inputs);
const OUTPUTS = Object.keys(action.outputs);
const README = read('README.md');

/** A YAML text with where it came from. */
interface Source {
  name: string;
  text: string;
}

function yamlFiles(dir: string): Source[] {
  return readdirSync(new URL(dir, ROOT))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({ name: `${dir}${f}`, text: read(`${dir}${f}`) }));
}

const EXAMPLES = yamlFiles('examples/');
const WORKFLOWS = yamlFiles('.github/workflows/');

function readmeYamlBlocks(): Source[] {
  const blocks: Source[] = [];
  const fence = /^```ya?ml[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = fence.exec(README); m; m = fence.exec(README)) {
    const line = README.slice(0, m.index).split('\n').length;
    blocks.push({ name: `README.md:${line}`, text: m[1] });
  }
  return blocks;
}

const README_BLOCKS = readmeYamlBlocks();
const ALL_YAML: Source[] = [...README_BLOCKS, ...EXAMPLES, ...WORKFLOWS];

function load(src: Source): unknown {
  const doc = parseDocument(src.text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new Error(`${src.name} is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  return doc.toJS();
}

/** Like load(), but undefined for invalid YAML (the parse test reports it), so one bad file fails only its tests. */
function tryLoad(src: Source): unknown {
  try {
    return load(src);
  } catch {
    return undefined;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every mapping in the document, depth first. */
function mappings(node: unknown, out: Obj[] = []): Obj[] {
  if (Array.isArray(node)) for (const item of node) mappings(item, out);
  else if (isObj(node)) {
    out.push(node);
    for (const v of Object.values(node)) mappings(v, out);
  }
  return out;
}

/** `uses:` that runs this action: `<owner>/rotate-aws-access-key@<ref>` or the repository itself (`./`). */
function usesThisAction(uses: unknown): boolean {
  return typeof uses === 'string' && (uses === './' || /(^|\/)rotate-aws-access-key@[^\s/]+$/.test(uses));
}

/** The steps (mappings with `uses:`) that run this action. */
function actionSteps(doc: unknown): Obj[] {
  return mappings(doc).filter((m) => usesThisAction(m.uses));
}

/** Parse the `| a | b | c |` rows of the table under `## <heading>` into trimmed cells. */
function tableRows(heading: string): string[][] {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end < 0 ? undefined : end);
  return section
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) => l.replace(/^\|/, '').replace(/\|\s*$/, '').split('|').map((c) => c.trim()))
    .filter((cells) => !cells.every((c) => /^:?-+:?$/.test(c))) // separator row
    .slice(1); // header row
}

/** `` `name` `` -> name. */
function codeSpan(cell: string): string | undefined {
  const m = /^`([^`]*)`$/.exec(cell);
  return m ? m[1] : undefined;
}

describe('YAML in the documentation parses', () => {
  it('finds the README blocks, examples and workflows to check', () => {
    expect(README_BLOCKS.length).toBeGreaterThanOrEqual(EXAMPLES.length + 1);
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(11);
    expect(WORKFLOWS.map((w) => w.name)).toEqual(
      expect.arrayContaining(['.github/workflows/ci.yml', '.github/workflows/check-dist.yml', '.github/workflows/e2e.yml']),
    );
  });

  it.each(ALL_YAML.map((s) => [s.name, s] as const))('%s', (_name, src) => {
    expect(() => load(src)).not.toThrow();
  });
});

describe('steps that use this action', () => {
  const withSteps = ALL_YAML.flatMap((src) => actionSteps(tryLoad(src)).map((step) => ({ src, step })));

  it('exist in every example and in the e2e workflow', () => {
    const without = [...EXAMPLES, ...WORKFLOWS.filter((w) => w.name.endsWith('e2e.yml'))]
      .filter((src) => actionSteps(load(src)).length === 0)
      .map((src) => src.name);
    expect(without).toEqual([]);
  });

  it.each(withSteps.map(({ src, step }, i) => [`${src.name} #${i}`, step] as const))(
    '%s passes only declared inputs, including github-token',
    (_name, step) => {
      const given = isObj(step.with) ? Object.keys(step.with) : [];
      expect(given.filter((k) => !INPUTS.includes(k))).toEqual([]);
      expect(given).toContain('github-token');
    },
  );

  it('examples use your-org/rotate-aws-access-key@v1', () => {
    for (const src of EXAMPLES) {
      for (const step of actionSteps(load(src))) expect(step.uses).toBe('your-org/rotate-aws-access-key@v1');
    }
  });
});

describe('steps.<id>.outputs.<name> references to this action', () => {
  const REF = /steps\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g;
  const refs = ALL_YAML.flatMap((src) => {
    const ids = new Set(
      actionSteps(tryLoad(src))
        .map((s) => s.id)
        .filter((id): id is string => typeof id === 'string'),
    );
    return [...src.text.matchAll(REF)].filter((m) => ids.has(m[1])).map((m) => ({ where: src.name, id: m[1], output: m[2] }));
  });

  it('are checked (some exist)', () => {
    expect(refs.length).toBeGreaterThan(0);
  });

  it('name outputs that action.yml declares', () => {
    expect(refs.filter((r) => !OUTPUTS.includes(r.output))).toEqual([]);
  });
});

describe('cron schedules', () => {
  const crons = ALL_YAML.flatMap((src) =>
    mappings(tryLoad(src))
      .filter((m) => typeof m.cron === 'string')
      .map((m) => ({ where: src.name, cron: m.cron as string })),
  );

  it('are present', () => {
    expect(crons.length).toBeGreaterThan(0);
    expect(crons).toContainEqual({ where: 'examples/scheduled-weekly.yml', cron: '17 3 * * 1' });
  });

  it.each(crons.map((c) => [`${c.where}: '${c.cron}'`, c.cron] as const))(
    '%s has five fields and does not run every minute',
    (_name, cron) => {
      const fields = cron.trim().split(/\s+/);
      expect(fields).toHaveLength(5);
      expect(['*', '*/1', '0-59']).not.toContain(fields[0]);
    },
  );
});

describe('README tables match action.yml', () => {
  it('inputs: the same names, in the same order, with the same defaults', () => {
    const rows = tableRows('Inputs');
    const names = rows.map((r) => codeSpan(r[0]));
    expect(names).toEqual(INPUTS);
    for (const [cell0, defaultCell] of rows) {
      const name = codeSpan(cell0) as string;
      const spec = action.inputs[name];
      if (spec.default === undefined) {
        expect({ name, required: spec.required, cell: defaultCell }).toEqual({ name, required: true, cell: 'required' });
      } else {
        const shown = codeSpan(defaultCell);
        const value = shown === "''" ? '' : shown;
        expect({ name, default: value }).toEqual({ name, default: String(spec.default) });
      }
    }
  });

  it('outputs: the same names, in the same order', () => {
    expect(tableRows('Outputs').map((r) => codeSpan(r[0]))).toEqual(OUTPUTS);
  });
});

describe('examples', () => {
  it.each(EXAMPLES.map((s) => [s.name, s] as const))('%s is a complete workflow shown verbatim in the README', (_n, src) => {
    const wf = load(src) as Obj;
    expect(wf).toHaveProperty('on');
    expect(isObj(wf.jobs) && Object.keys(wf.jobs).length > 0).toBe(true);
    for (const job of Object.values(wf.jobs as Obj)) {
      expect(isObj(job) && Array.isArray(job.steps) && typeof job['runs-on'] === 'string').toBe(true);
    }
    expect(README).toContain('```yaml\n' + src.text.replace(/\n$/, '') + '\n```');
  });
});

describe('workflows of this repository', () => {
  const wf = (name: string) => load(WORKFLOWS.find((w) => w.name.endsWith(name)) as Source) as Obj;
  const steps = (doc: Obj) => mappings(doc).filter((m) => typeof m.uses === 'string' || typeof m.run === 'string');
  const runs = (doc: Obj) =>
    steps(doc)
      .map((s) => s.run)
      .filter((r): r is string => typeof r === 'string')
      .join('\n');

  it('pin actions/checkout@v5, actions/setup-node@v5 (Node 24) and actions/setup-python@v6', () => {
    for (const src of WORKFLOWS) {
      for (const step of steps(load(src) as Obj)) {
        const uses = step.uses;
        if (typeof uses !== 'string') continue;
        if (uses.startsWith('actions/checkout@')) expect(uses).toBe('actions/checkout@v5');
        if (uses.startsWith('actions/setup-python@')) expect(uses).toBe('actions/setup-python@v6');
        if (uses.startsWith('actions/setup-node@')) {
          expect(uses).toBe('actions/setup-node@v5');
          expect((step.with as Obj)['node-version']).toBe(24);
        }
      }
    }
  });

  it('ci.yml installs moto and runs npm ci, lint, typecheck and test', () => {
    const text = runs(wf('ci.yml'));
    for (const cmd of ["pip install 'moto[server]'", 'npm ci', 'npm run lint', 'npm run typecheck', 'npm test']) {
      expect(text).toContain(cmd);
    }
  });

  it('check-dist.yml rebuilds dist/ and fails on a difference', () => {
    const text = runs(wf('check-dist.yml'));
    expect(text).toContain('npm run package');
    expect(text).toMatch(/git diff --exit-code\b.*\bdist\//);
    // ncc splits the bundle into chunks: a new, untracked chunk must fail the check too.
    expect(text).toMatch(/git status --porcelain -- dist\//);
  });

  it('e2e.yml runs the action with uses: ./ in dry-run mode', () => {
    const local = actionSteps(wf('e2e.yml')).filter((s) => s.uses === './');
    expect(local.some((s) => String((s.with as Obj)['dry-run']) === 'true')).toBe(true);
  });
});

describe('README structure', () => {
  it('keeps its sections in order', () => {
    const order = [
      '## Quick start',
      '## Examples',
      '## Inputs',
      '## Outputs',
      '## Token',
      '## IAM',
      '## How it behaves',
      '## Fault matrix',
      '## Benchmark',
      '## Run it locally',
      '## Development',
    ];
    const at = order.map((h) => README.indexOf(`\n${h}\n`));
    expect(at.filter((i) => i < 0)).toEqual([]);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it("gives the newcomer's two commands in one code block", () => {
    expect(README).toMatch(/```(?:sh|bash|shell)?\nnpm ci && npm run demo\nnpm ci && npm test\n```/);
  });

  it('names the moto prerequisite', () => {
    expect(README).toContain("pip install 'moto[server]'");
  });
});
