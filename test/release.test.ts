/**
 * scripts/changelog-section.mjs, which the release workflow runs to turn the CHANGELOG section of the tagged version
 * into the GitHub release's notes, and the CHANGELOG itself: the current package.json version has notes.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'changelog-section.mjs');

function section(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function changelog(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'changelog-')), 'CHANGELOG.md');
  writeFileSync(file, text);
  return file;
}

const SAMPLE = [
  '# Changelog',
  '',
  'Intro text.',
  '',
  '## [Unreleased]',
  '',
  '- work in progress',
  '',
  '## [1.1.0] - 2026-12-01',
  '',
  '### Added',
  '',
  '- a feature',
  '  continued on a second line',
  '',
  '### Fixed',
  '',
  '- a bug',
  '',
  '## [1.0.0] - 2026-11-28',
  '',
  '### Added',
  '',
  '- the first release',
  '',
  '[Unreleased]: https://example.com/compare/v1.1.0...HEAD',
  '[1.1.0]: https://example.com/compare/v1.0.0...v1.1.0',
  '',
].join('\n');

describe('scripts/changelog-section.mjs', () => {
  it('prints the section of the version, without its heading, up to the next version', () => {
    const r = section(['1.1.0', changelog(SAMPLE)]);
    expect(r).toEqual({
      code: 0,
      stdout: '### Added\n\n- a feature\n  continued on a second line\n\n### Fixed\n\n- a bug\n',
      stderr: '',
    });
  });

  it('accepts the tag name (v1.1.0) as well as the version', () => {
    expect(section(['v1.1.0', changelog(SAMPLE)]).stdout).toBe(section(['1.1.0', changelog(SAMPLE)]).stdout);
  });

  it('stops at the link references at the end of the file', () => {
    expect(section(['1.0.0', changelog(SAMPLE)])).toMatchObject({ code: 0, stdout: '### Added\n\n- the first release\n' });
  });

  it('reads CRLF files', () => {
    expect(section(['1.0.0', changelog(SAMPLE.replace(/\n/g, '\r\n'))]).stdout).toBe('### Added\n\n- the first release\n');
  });

  it('fails, naming the versions it found, when the version has no section', () => {
    const r = section(['1.2.0', changelog(SAMPLE)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no "## [1.2.0]" section (found: Unreleased, 1.1.0, 1.0.0)');
  });

  it('matches the version exactly (1.1.0 is not 1.1.0.1)', () => {
    expect(section(['1.1.0', changelog(SAMPLE.replace('## [1.1.0]', '## [1.1.0.1]'))]).code).toBe(1);
  });

  it('fails on an empty section: a release never goes out without notes', () => {
    const r = section(['2.0.0', changelog('# Changelog\n\n## [2.0.0] - 2027-01-01\n\n## [1.0.0] - 2026-11-28\n\n- x\n')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('empty');
  });

  it('rejects a missing or malformed version with a usage line (exit 2)', () => {
    expect(section([]).code).toBe(2);
    expect(section(['latest']).code).toBe(2);
  });

  it('reads the repository CHANGELOG.md by default', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const r = section([version]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^### /);
  });
});

describe('CHANGELOG.md', () => {
  const text = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
  const released = [...text.matchAll(/^## \[(\d[^\]]*)\] - /gm)].map((m) => m[1]);
  const pkg = (name: string) => JSON.parse(readFileSync(join(ROOT, name), 'utf8')) as { version: string; packages: Record<string, { version?: string }> };

  it("names package.json's version as the newest release, and package-lock.json agrees", () => {
    const { version } = pkg('package.json');
    expect(released[0]).toBe(version);
    const lock = pkg('package-lock.json');
    expect({ lock: lock.version, root: lock.packages[''].version }).toEqual({ lock: version, root: version });
  });

  it('ends with a link reference for [Unreleased] and every version: compare from the previous tag, the first a tag', () => {
    const refs = [...text.matchAll(/^\[([^\]]+)\]: (\S+)$/gm)].map((m) => ({ name: m[1], url: m[2] }));
    expect(refs.map((r) => r.name)).toEqual(['Unreleased', ...released]);
    const base = /^(https:\/\/github\.com\/[^/]+\/[^/]+)\//.exec(refs[0].url)?.[1];
    expect(base).toBeDefined();
    expect(refs[0].url).toBe(`${base}/compare/v${released[0]}...HEAD`);
    released.forEach((v, i) => {
      const previous = released[i + 1];
      expect(refs[i + 1].url).toBe(previous ? `${base}/compare/v${previous}...v${v}` : `${base}/releases/tag/v${v}`);
    });
    // Nothing but link references after them.
    expect(text.slice(text.indexOf('\n[Unreleased]: ')).trim().split('\n').every((l) => /^\[[^\]]+\]: \S+$/.test(l))).toBe(true);
  });

  it("makes a release with breaking changes a major one (RELEASING.md's rule)", () => {
    const breaking = released.filter((v, i) => {
      const notes = text.slice(text.indexOf(`## [${v}]`), released[i + 1] ? text.indexOf(`## [${released[i + 1]}]`) : undefined);
      return /^### .*breaking/im.test(notes);
    });
    expect(breaking).toContain('2.0.0');
    expect(breaking.filter((v) => !/^\d+\.0\.0$/.test(v))).toEqual([]);
  });

  it('keeps [Unreleased] on top, then versions with dates, newest first', () => {
    const headings = [...text.matchAll(/^## \[([^\]]+)\](.*)$/gm)].map((m) => ({ version: m[1], rest: m[2] }));
    expect(headings[0]).toEqual({ version: 'Unreleased', rest: '' });
    const released = headings.slice(1);
    expect(released.length).toBeGreaterThan(0);
    for (const h of released) {
      expect(h.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
      expect(h.rest).toMatch(/^ - \d{4}-\d{2}-\d{2}$/);
    }
    const key = (v: string) => v.split(/[.-]/).slice(0, 3).map(Number);
    const sorted = [...released].sort((a, b) => {
      const [x, y] = [key(a.version), key(b.version)];
      return y[0] - x[0] || y[1] - x[1] || y[2] - x[2];
    });
    expect(released.map((h) => h.version)).toEqual(sorted.map((h) => h.version));
  });
});
