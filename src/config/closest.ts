/** Which of several names a mistyped one most likely meant: for "did you mean …?" in error messages. */

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

export interface Closest {
  name: string;
  /** The edit distance between the normalized forms (0: they differ only in what `normalize` ignores). */
  distance: number;
}

/**
 * The candidate nearest to `name` after `normalize` (the first of equally near ones), undefined when there are no
 * candidates.
 */
export function closest(name: string, candidates: readonly string[], normalize = (s: string) => s): Closest | undefined {
  const wanted = normalize(name);
  let best: Closest | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, normalize(candidate));
    if (best === undefined || distance < best.distance) best = { name: candidate, distance };
  }
  return best;
}
