/** Edit distance, for "did you mean" suggestions: unknown model names in the daemon, commands and options in aic. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * The candidates closest to `wanted`, best first; substring matches count as close. `maxDistance`
 * bounds how many edits away a candidate may be (default: generous, for long model names).
 */
export function closestNames(wanted: string, candidates: string[], limit = 3, maxDistance?: number): string[] {
  const w = wanted.toLowerCase();
  return [...new Set(candidates)]
    .map((c) => {
      const lc = c.toLowerCase();
      const base = lc.split(':')[0];
      // A typo is usually in the name, not the tag: compare with and without it.
      const score = lc.includes(w) || w.includes(base) ? 0 : Math.min(distance(w, lc), distance(w.split(':')[0], base));
      return { c, score };
    })
    .filter((x) => x.score <= (maxDistance ?? Math.max(3, Math.floor(w.length / 2))))
    .sort((a, b) => a.score - b.score || a.c.localeCompare(b.c))
    .slice(0, limit)
    .map((x) => x.c);
}
