import * as path from 'node:path';
import { definitionTerms, type FileIndex } from './file-index';
import type { HistoryStats } from './git-history';
import type { ImportGraph } from './import-graph';
import type { Learner } from './learner';
import { personalisedPageRank } from './pagerank';
import { SIGNALS, zeroVector, type SignalVector } from './signals';
import { identifiersOf, terms as termsOf } from './tokens';

export interface RankedFile {
  /** Relative to the project root, posix separators. */
  path: string;
  /** 0..1: the weighted mean of the file's normalised signals. */
  score: number;
  reasons: string[];
  /** Estimated tokens of the whole file (4 characters a token). */
  tokens: number;
}

export interface RankInput {
  index: FileIndex;
  graph: ImportGraph;
  history: HistoryStats;
  learner: Learner;
  query: string;
  openFile?: string;
  mentioned?: string[];
  excluded?: string[];
  limit: number;
}

export interface RankOutput {
  files: RankedFile[];
  /** Every candidate's signals, for the learner to compare helpful and ignored files later. */
  signals: Map<string, SignalVector>;
}

/** How many direct hits seed the import-graph walk and the co-change lookup. */
const SEEDS = 10;

const quote = (ts: string[]): string => ts.slice(0, 4).map((t) => `'${t}'`).join(', ');
const short = (p: string): string => p;

/**
 * Ranks a project's files for a question. Each signal is computed for the candidates, divided by
 * its maximum over them (so a signal's scale never drowns another's), then weighed with the
 * learner's weights: text (BM25 over identifier parts), path terms, definitions named by the
 * question, import-graph proximity (personalised PageRank from the direct hits, the open file
 * and mentioned files), git recency, co-change with the open file/mentioned files/top hits,
 * the file's learned prior and files that helped similar past questions.
 */
export function rankFiles(input: RankInput): RankOutput {
  const { index, graph, history, learner } = input;
  const qTerms = termsOf(input.query);
  const qIdents = identifiersOf(input.query);
  const excluded = new Set(input.excluded ?? []);
  const anchors = [...(input.openFile ? [input.openFile] : []), ...(input.mentioned ?? [])].filter((p) => index.get(p));
  const raw = new Map<string, SignalVector>();
  const vec = (p: string): SignalVector => {
    let v = raw.get(p);
    if (!v) raw.set(p, (v = zeroVector()));
    return v;
  };
  const reasons = new Map<string, Map<string, string>>();
  const because = (p: string, key: string, text: string): void => {
    let m = reasons.get(p);
    if (!m) reasons.set(p, (m = new Map<string, string>()));
    if (!m.has(key)) m.set(key, text);
  };

  // Direct evidence: text, path, definitions.
  const idf = new Map(qTerms.map((t) => [t, index.idf(t)]));
  const idfSum = [...idf.values()].reduce((a, b) => a + b, 0) || 1;
  for (const [p, { score, matched }] of index.bm25(qTerms)) {
    vec(p).text = score;
    because(p, 'text', `mentions ${quote(matched)}`);
  }
  for (const f of index.files()) {
    let pathScore = 0;
    const hits: string[] = [];
    for (const t of qTerms) {
      if (f.pathTerms.has(t)) {
        pathScore += idf.get(t) ?? 0;
        hits.push(t);
      }
    }
    if (pathScore > 0) {
      vec(f.path).path = pathScore / idfSum;
      because(f.path, 'path', `path matches ${quote(hits)}`);
    }
    let defScore = 0;
    const named: Array<{ name: string; s: number }> = [];
    for (const d of f.facts.defs) {
      if (d.name.length < 3) continue;
      let s = 0;
      if (qIdents.has(d.name)) s = 2; // named exactly as written in the question
      else {
        const dt = definitionTerms(d.name);
        const hit = dt.filter((t) => idf.has(t));
        if (hit.length) s = hit.reduce((a, t) => a + (idf.get(t) ?? 0), 0) / idfSum * (hit.length / dt.length);
      }
      if (s > 0.2) {
        defScore = Math.max(defScore, s) + 0.1 * Math.min(s, 1);
        named.push({ name: d.name, s });
      }
    }
    if (defScore > 0) {
      vec(f.path).definition = defScore;
      const best = named.sort((a, b) => b.s - a.s).slice(0, 3).map((n) => n.name);
      because(f.path, 'definition', `defines ${best.join(', ')}`);
    }
  }
  normalise(raw, ['text', 'path', 'definition']);

  // Seeds: the strongest direct hits, plus the open and mentioned files.
  const direct = [...raw.entries()].map(([p, v]) => ({ p, s: 0.5 * v.text + 0.2 * v.path + 0.3 * v.definition })).sort((a, b) => b.s - a.s).slice(0, SEEDS);
  const seeds = new Map<number, number>();
  for (const { p, s } of direct) if (s > 0) seeds.set(graph.indexOf.get(p) as number, s);
  for (const a of anchors) {
    const i = graph.indexOf.get(a);
    if (i !== undefined) seeds.set(i, (seeds.get(i) ?? 0) + 1);
  }
  const seedPaths = new Set([...direct.map((d) => d.p), ...anchors]);
  if (seeds.size) {
    const pr = personalisedPageRank(graph.neighbours, seeds);
    pr.forEach((r, i) => {
      if (r < 1e-4) return;
      const p = graph.paths[i];
      // Seeds keep their own mass: graph proximity is about the files around them.
      if (seeds.has(i) && !graph.neighbours[i].some((j) => seeds.has(j))) return;
      vec(p).graph = r;
      const by = [...(graph.importers.get(p) ?? [])].find((x) => seedPaths.has(x));
      const of = [...(graph.imports.get(p) ?? [])].find((x) => seedPaths.has(x));
      if (by) because(p, 'graph', `imported by ${short(by)}`);
      else if (of) because(p, 'graph', `imports ${short(of)}`);
      else because(p, 'graph', 'near the direct hits in the import graph');
    });
  }

  // Co-change with the anchors (strongly) and the top direct hits (in proportion to their score).
  const coAnchors = [...anchors.map((p) => ({ p, s: 1 })), ...direct.slice(0, 5).map(({ p, s }) => ({ p, s: s * 0.5 }))];
  for (const { p: anchor, s } of coAnchors) {
    for (const partner of history.partners(anchor).slice(0, 20)) {
      if (!index.get(partner.path) || partner.path === anchor) continue;
      vec(partner.path).cochange += s * partner.strength;
      because(partner.path, 'cochange', `co-changes with ${short(anchor)} (${Math.round(partner.together)}×)`);
    }
  }

  // What was learned: files that helped similar questions.
  for (const [p, m] of learner.recall(input.query, (t) => index.idf(t))) {
    if (!index.get(p)) continue;
    vec(p).memory = m.score;
    because(p, 'memory', `learned: helped ${m.count} similar past question${m.count > 1 ? 's' : ''} (“${m.example.slice(0, 60)}”)`);
  }

  // Recency and priors only for files already in the running: they break ties, never bring files in.
  for (const [p, v] of raw) {
    const w = history.weighted.get(p);
    if (w && history.maxWeighted > 0) {
      v.recency = Math.sqrt(w / history.maxWeighted);
      const recent = history.recent.get(p) ?? 0;
      if (recent > 0) because(p, 'recency', `changed ${recent} time${recent > 1 ? 's' : ''} in the last 30 days`);
    }
    v.prior = learner.prior(p);
    const prior = learner.priorOf(p);
    if (prior && prior.helped > 0) because(p, 'prior', `learned: helped ${prior.helped} past question${prior.helped > 1 ? 's' : ''}`);
  }
  normalise(raw, ['graph', 'cochange', 'memory']);

  const weights = learner.currentWeights();
  const total = SIGNALS.reduce((s, k) => s + weights[k], 0);
  const mentioned = new Set(input.mentioned ?? []);
  const scored: RankedFile[] = [];
  for (const [p, v] of raw) {
    if (excluded.has(p)) continue;
    const f = index.get(p);
    if (!f) continue;
    let score = SIGNALS.reduce((s, k) => s + weights[k] * v[k], 0) / total;
    const why = [...(reasons.get(p)?.entries() ?? [])].sort((a, b) => weights[b[0] as keyof SignalVector] * v[b[0] as keyof SignalVector] - weights[a[0] as keyof SignalVector] * v[a[0] as keyof SignalVector]).map(([, r]) => r);
    if (mentioned.has(p)) {
      score = 1;
      why.unshift('mentioned in the question');
    } else if (p === input.openFile) why.unshift('open in the editor');
    scored.push({ path: p, score: Math.min(1, score), reasons: why, tokens: Math.ceil(f.facts.chars / 4) });
  }
  // Mentioned files that are not indexed (new, ignored) are still the user's choice.
  scored.sort((a, b) => b.score - a.score || a.path.localeCompare(b.path));
  return { files: scored.slice(0, input.limit), signals: raw };
}

function normalise(vectors: Map<string, SignalVector>, keys: Array<keyof SignalVector>): void {
  for (const k of keys) {
    let max = 0;
    for (const v of vectors.values()) if (v[k] > max) max = v[k];
    if (max > 0) for (const v of vectors.values()) v[k] /= max;
  }
}

export const posix = (p: string): string => p.split(path.sep).join('/');
