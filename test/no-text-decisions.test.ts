/**
 * Decisions are codes, never the wording of the action's own messages (issue 20): no source file tests, searches or
 * slices a message, a reason, a piece of missing evidence or a sentence to choose what to do. Rewording a message
 * must change no behaviour. The few places that read a message someone else wrote (Node's socket errors, GitHub's
 * rate-limit answers) are listed here, each with why.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const SRC = join(import.meta.dirname, '..', 'src');

/** Text read with a string or regex method, where the text is named as a message, reason, sentence or evidence. */
const READS_TEXT = new RegExp(
  [
    // message.includes(…), reason.startsWith(…), err.message.endsWith(…)
    /\b(message|msg|text|sentence|reason|why|missing|todo|known)\b[\w.?!\][]*\s*\.\s*(includes|startsWith|endsWith|match|search|slice|indexOf)\(/.source,
    // /…/.test(message), /…/.exec(m.text)
    /\.(test|exec|match)\(\s*[\w.?!]*\b(message|msg|text|sentence|reason|why|missing)\b/.source,
    // missing.some((m) => m.startsWith(…)): evidence read by its words
    /\b(missing|gaps)\.(some|every|find|filter)\(\s*\(?\w+\)?\s*=>\s*(\w+\.(includes|startsWith|endsWith)\(|\/.*\/\w*\.test\()/.source,
    // x.includes('a few words'): a fragment of a sentence looked for
    /\.(includes|startsWith|endsWith)\(\s*['"`][^'"`]*\s[^'"`]*['"`]/.source,
  ].join('|'),
  'i',
);

/** Places that read words the action did not write, and may. */
const OTHERS_WORDS = new Map([
  ['aws/aws-requests.ts', ['/socket hang up/i.test(e.message', "/(\\d+) ?ms\\b/.exec(e.message"]], // Node's and the SDK's errors
  // GitHub's rate-limit answers (SECONDARY: its secondary limit in today's and older words, "abuse detection")
  ['github/secrets.ts', ['SECONDARY.test(message)', '/rate limit/i.test(message)']],
  ['rotation/rotate.ts', ['/[.!?]$/.test(m)']], // punctuation: a message ends with one full stop
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

describe('no decision reads the wording of a message', () => {
  it('no source file tests, searches or slices a message, reason or sentence of its own', () => {
    const found: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const name = file.slice(SRC.length + 1);
      const allowed = OTHERS_WORDS.get(name) ?? [];
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
          if (READS_TEXT.test(code) && !allowed.some((a) => code.includes(a))) found.push(`${name}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });

  it('the check finds what it is for (the patterns that steered decisions before)', () => {
    for (const bad of [
      "if (sentence.startsWith('The created user')) s.journal.record({ kind: 'user deleted' });",
      "err.missing.some((m) => m.startsWith(`the new key ${newId}`))",
      "orphan[0].includes('may hold it')",
      "!err.message.endsWith(NOTHING_CHANGED)",
      "missing.every((m) => / h old \\(IAM time\\)$/.test(m.text))",
      "const timing = missing.every((m) => / h old \\(IAM time\\)$| h ago \\(IAM time\\)$/.test(m));",
    ]) {
      expect(READS_TEXT.test(bad)).toBe(true);
    }
  });
});
