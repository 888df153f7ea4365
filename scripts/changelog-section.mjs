#!/usr/bin/env node
/**
 * Print the CHANGELOG.md section of one version: the release notes of that version.
 *
 *   node scripts/changelog-section.mjs 1.2.0            # or v1.2.0
 *   node scripts/changelog-section.mjs 1.2.0 path/to/CHANGELOG.md
 *
 * The section is everything under its "## [1.2.0] - <date>" heading up to the next "## " heading (or the link
 * references at the end of the file), without the heading itself and without leading or trailing blank lines.
 * Exits 1, naming the headings it found, when the version has no section or the section is empty: a release
 * must not go out without notes. Plain Node, no dependencies (the release workflow runs it before anything else).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The body of `## [version]` in `text`, or undefined when there is no such heading. */
export function changelogSection(text, version) {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const wanted = version.replace(/^v/, '');
  const heading = /^## \[([^\]]+)\]/;
  const start = lines.findIndex((l) => heading.exec(l)?.[1] === wanted);
  if (start < 0) return undefined;
  const body = [];
  for (const line of lines.slice(start + 1)) {
    if (/^## /.test(line) || /^\[[^\]]+\]:\s/.test(line)) break;
    body.push(line);
  }
  return body.join('\n').replace(/^\s*\n/, '').trimEnd();
}

/** The versions that have a `## [x]` heading, in file order. */
export function changelogVersions(text) {
  return [...text.matchAll(/^## \[([^\]]+)\]/gm)].map((m) => m[1]);
}

function main(argv) {
  const [version, file = new URL('../CHANGELOG.md', import.meta.url)] = argv;
  if (!version || !/^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)) {
    process.stderr.write('usage: node scripts/changelog-section.mjs <version, e.g. 1.2.0 or v1.2.0> [CHANGELOG.md]\n');
    return 2;
  }
  const text = readFileSync(file, 'utf8');
  const section = changelogSection(text, version);
  if (section === undefined) {
    const found = changelogVersions(text).join(', ') || 'none';
    process.stderr.write(`CHANGELOG has no "## [${version.replace(/^v/, '')}]" section (found: ${found})\n`);
    return 1;
  }
  if (section.trim() === '') {
    process.stderr.write(`the CHANGELOG section of ${version.replace(/^v/, '')} is empty\n`);
    return 1;
  }
  process.stdout.write(`${section}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
