/**
 * Words for search: identifiers split on camelCase, snake_case, digits and punctuation, lowercased.
 * The same function serves file text, paths and questions, so a query's "parse config" meets a
 * file's `parseConfig` and `parse_config`.
 */

const IDENT = /[A-Za-z_$][A-Za-z0-9_$]*/g;

/** Common English and code words that carry no signal for choosing a file. */
const STOP = new Set(
  (
    'a an and are as at be but by can do does for from has have how i if in into is it its may me my no not of on or our should so than that the their ' +
    'them then there these they this to us was we what when where which who why will with would you your get set new use make add fix run let var const ' +
    'return true false null undefined none self def func fn pub function class import export'
  ).split(' '),
);

/** Parts of one identifier: `parseHTTPConfig2` → parse, http, config, 2 (lowercased). */
export function identifierParts(ident: string): string[] {
  return ident
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])/)
    .filter((p) => p.length > 1)
    .map((p) => p.toLowerCase());
}

/** Identifiers of a text, each once, as written. */
export function identifiersOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(IDENT)) if (m[0].length > 2) out.add(m[0]);
  return out;
}

/**
 * Search terms with counts: each identifier's parts, plus the whole identifier lowercased when it
 * has several parts (an exact `parseconfig` match then scores above two loose words).
 */
export function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (t: string): void => {
    if (t.length < 2 || STOP.has(t) || t.length > 40) return;
    const s = stem(t);
    counts.set(s, (counts.get(s) ?? 0) + 1);
  };
  for (const m of text.matchAll(IDENT)) {
    const parts = identifierParts(m[0]);
    for (const p of parts) add(p);
    if (parts.length > 1) add(m[0].toLowerCase().replace(/[^a-z0-9]/g, ''));
  }
  return counts;
}

/** Each term of a text with the word it came from, for reasons ("mentions 'parsing'", not 'pars'). */
export function surfaceWords(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(IDENT)) {
    const parts = identifierParts(m[0]);
    if (parts.length > 1) {
      const whole = stem(m[0].toLowerCase().replace(/[^a-z0-9]/g, ''));
      if (!out.has(whole)) out.set(whole, m[0]);
    }
    for (const p of parts) {
      const s = stem(p);
      if (!out.has(s)) out.set(s, p);
    }
  }
  return out;
}

/** The distinct terms of a question or path, in order. */
export function terms(text: string): string[] {
  return [...termCounts(text).keys()];
}

/**
 * A light stemmer so "tests"/"test" and "parsing"/"parsed"/"parse" meet (all become "pars"). It is
 * applied to every term on both sides, so its roughness only merges words, it never misses one.
 */
export function stem(term: string): string {
  let t = term;
  if (t.length > 5 && t.endsWith('ing')) t = t.slice(0, -3);
  else if (t.length > 4 && t.endsWith('ed')) t = t.slice(0, -2);
  else if (t.length > 4 && t.endsWith('es')) t = t.slice(0, -2);
  else if (t.length > 3 && t.endsWith('s') && !t.endsWith('ss')) t = t.slice(0, -1);
  if (t.length > 3 && t.endsWith('e')) t = t.slice(0, -1);
  return t;
}
