// Writes dist/licenses.txt and dist/fleet/licenses.txt (one beside each bundle): the license of every production
// dependency in package-lock.json (a superset of what either bundle contains). ncc's own --license output covers only
// one chunk once the bundle is split, so we make it.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const entries = new Map();
for (const [path, meta] of Object.entries(lock.packages ?? {})) {
  if (!path.startsWith('node_modules/') || meta.dev || meta.devOptional) continue;
  const dir = join(root, path);
  if (!existsSync(join(dir, 'package.json'))) continue;
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const licenseFile = readdirSync(dir).find((f) => /^(licen[sc]e|copying)(\.(md|txt))?$/i.test(f));
  const text = licenseFile ? readFileSync(join(dir, licenseFile), 'utf8').trim() : '';
  const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'UNKNOWN');
  entries.set(`${pkg.name}@${pkg.version}`, `${pkg.name}\n${license}\n${text}`);
}
const out = [...entries.keys()].sort().map((k) => entries.get(k)).join('\n\n');
for (const dir of ['dist', join('dist', 'fleet')]) {
  if (!existsSync(join(root, dir))) continue;
  writeFileSync(join(root, dir, 'licenses.txt'), `${out}\n`);
  console.log(`${dir}/licenses.txt: ${entries.size} production dependencies`);
}
