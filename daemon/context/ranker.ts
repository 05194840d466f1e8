import { estimateTokensOfLength } from '../tokens/count';
import type { RankedContextFile } from '../../protocol/context';
import type { FileIndex, IndexedFile } from './file-index';
import type { HistoryStats } from './git-history';
import type { ImportGraph } from './import-graph';
import type { Learner } from './learner';
import { personalisedPageRank } from './pagerank';
import { SIGNALS, zeroVector, type Signal, type SignalVector } from './signals';
import { identifiersOf, surfaceWords, terms as termsOf } from './tokens';

/** One definition, the protocol's: aid/context returns it as is. */
export type RankedFile = RankedContextFile;

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

/** Candidates whose signals are kept for the learner, per query. */
const SIGNALS_KEPT = 200;
/** How many direct hits seed the import-graph walk and the co-change lookup. */
const SEEDS = 10;

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
  const surface = surfaceWords(input.query);
  const quote = (ts: string[]): string =>
    ts
      .slice(0, 4)
      .map((t) => `'${surface.get(t) ?? t}'`)
      .join(', ');
  const excluded = new Set(input.excluded ?? []);
  const anchors = [...(input.openFile ? [input.openFile] : []), ...(input.mentioned ?? [])].filter((p) => index.get(p));
  const raw = new Map<string, SignalVector>();
  const vec = (p: string): SignalVector => {
    let v = raw.get(p);
    if (!v) raw.set(p, (v = zeroVector()));
    return v;
  };
  // Reasons are written for the files returned only (below): thousands of candidates need none.
  const idf = new Map(qTerms.map((t) => [t, index.idf(t)]));
  const idfSum = [...idf.values()].reduce((a, b) => a + b, 0) || 1;
  const definitionsOf = (f: IndexedFile, names?: Array<{ name: string; s: number }>): number => {
    let best = 0;
    const defs = f.facts.defs;
    for (let k = 0; k < defs.length; k++) {
      const d = defs[k];
      if (d.name.length < 3) continue;
      let s = 0;
      if (qIdents.has(d.name))
        s = 2; // named exactly as written in the question
      else {
        const dt = f.defTerms[k];
        if (!dt.some((t) => idf.has(t))) continue;
        const hit = dt.filter((t) => idf.has(t));
        s = (hit.reduce((a, t) => a + (idf.get(t) ?? 0), 0) / idfSum) * (hit.length / dt.length);
      }
      if (s > 0.2) {
        best = Math.max(best, s) + 0.1 * Math.min(s, 1);
        names?.push({ name: d.name, s });
      }
    }
    return best;
  };

  // Direct evidence: text, path, definitions.
  for (const [p, score] of index.bm25(qTerms)) vec(p).text = score;
  for (const f of index.files()) {
    let pathScore = 0;
    for (const t of qTerms) if (f.pathTerms.has(t)) pathScore += idf.get(t) ?? 0;
    if (pathScore > 0) vec(f.path).path = pathScore / idfSum;
    const defScore = definitionsOf(f);
    if (defScore > 0) vec(f.path).definition = defScore;
  }
  normalise(raw, ['text', 'path', 'definition']);
  // The open file and mentioned files are always candidates.
  for (const a of anchors) vec(a);

  // Seeds: the strongest direct hits, plus the open and mentioned files.
  const direct = topK(raw, SEEDS, (v) => 0.5 * v.text + 0.2 * v.path + 0.3 * v.definition).map(({ key, score }) => ({ p: key, s: score }));
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
      // Seeds keep their own mass: graph proximity is about the files around them.
      if (seeds.has(i) && !graph.neighbours[i].some((j) => seeds.has(j))) return;
      vec(graph.paths[i]).graph = r;
    });
  }

  // Co-change with the anchors (strongly) and the top direct hits (in proportion to their score).
  const coAnchors = [...anchors.map((p) => ({ p, s: 1 })), ...direct.slice(0, 5).map(({ p, s }) => ({ p, s: s * 0.5 }))];
  const coReason = new Map<string, string>();
  for (const { p: anchor, s } of coAnchors) {
    for (const partner of history.partners(anchor).slice(0, 20)) {
      if (!index.get(partner.path) || partner.path === anchor) continue;
      vec(partner.path).cochange += s * partner.strength;
      if (!coReason.has(partner.path)) coReason.set(partner.path, `co-changes with ${anchor} (${Math.round(partner.together)}×)`);
    }
  }

  // What was learned: files that helped similar questions.
  const recalled = learner.recall(input.query, (t) => index.idf(t));
  for (const [p, m] of recalled) if (index.get(p)) vec(p).memory = m.score;

  // The files changed most lately are candidates for any question (work in progress tends to
  // continue); otherwise recency and priors only reorder files already in the running.
  for (const p of history.hottest) if (index.get(p)) vec(p);
  for (const [p, v] of raw) {
    const w = history.weighted.get(p);
    if (w && history.maxWeighted > 0) v.recency = Math.sqrt(w / history.maxWeighted);
    v.prior = learner.prior(p);
  }
  normalise(raw, ['graph', 'cochange', 'memory']);

  const weights = learner.currentWeights();
  const total = SIGNALS.reduce((s, k) => s + weights[k], 0);
  const mentioned = new Set(input.mentioned ?? []);
  const scoreOf = (p: string, v: SignalVector): number => {
    if (excluded.has(p)) return -1;
    if (mentioned.has(p)) return 1;
    let s = 0;
    for (const k of SIGNALS) s += weights[k] * v[k];
    return Math.min(1, s / total);
  };
  // Only the top is sorted: a common word can make thousands of candidates.
  const scored = topK(raw, Math.max(input.limit, SIGNALS_KEPT), (v, p) => scoreOf(p, v))
    .filter((x) => x.score >= 0)
    .map(({ key, score }) => ({ path: key, score }));

  const explain = (p: string, v: SignalVector): string[] => {
    const f = index.get(p) as IndexedFile;
    const why: Array<[Signal, string]> = [];
    if (v.text > 0) why.push(['text', `mentions ${quote(qTerms.filter((t) => index.contains(f, t)))}`]);
    if (v.path > 0) why.push(['path', `path matches ${quote(qTerms.filter((t) => f.pathTerms.has(t)))}`]);
    if (v.definition > 0) {
      const names: Array<{ name: string; s: number }> = [];
      definitionsOf(f, names);
      why.push([
        'definition',
        `defines ${names
          .sort((a, b) => b.s - a.s)
          .slice(0, 3)
          .map((n) => n.name)
          .join(', ')}`,
      ]);
    }
    if (v.graph > 0) {
      const by = [...(graph.importers.get(p) ?? [])].find((x) => seedPaths.has(x));
      const of = [...(graph.imports.get(p) ?? [])].find((x) => seedPaths.has(x));
      const tests = graph.testOf.get(p);
      const tested = [...seedPaths].find((x) => graph.testOf.get(x) === p);
      why.push([
        'graph',
        by
          ? `imported by ${by}`
          : of
            ? `imports ${of}`
            : tests && seedPaths.has(tests)
              ? `tests ${tests}`
              : tested
                ? `tested by ${tested}`
                : 'near the direct hits in the import graph',
      ]);
    }
    const co = coReason.get(p);
    if (v.cochange > 0 && co) why.push(['cochange', co]);
    const recent = history.recent.get(p) ?? 0;
    if (v.recency > 0 && recent > 0) why.push(['recency', `changed ${recent} time${recent > 1 ? 's' : ''} in the last 30 days`]);
    const prior = learner.priorOf(p);
    if (prior && prior.helped > 0) why.push(['prior', `learned: helped ${prior.helped} past question${prior.helped > 1 ? 's' : ''}`]);
    const m = recalled.get(p);
    if (m) why.push(['memory', `learned: helped ${m.count} similar past question${m.count > 1 ? 's' : ''} (“${m.example.slice(0, 60)}”)`]);
    // Strongest contribution first.
    const out = why.sort((a, b) => weights[b[0]] * v[b[0]] - weights[a[0]] * v[a[0]]).map(([, r]) => r);
    if (mentioned.has(p)) out.unshift('mentioned in the question');
    else if (p === input.openFile) out.unshift('open in the editor');
    return out;
  };
  const files = scored.slice(0, input.limit).map(({ path: p, score }) => ({
    path: p,
    score,
    reasons: explain(p, raw.get(p) as SignalVector),
    tokens: estimateTokensOfLength(index.get(p)?.facts.chars ?? 0),
  }));
  // The learner compares attached files with the rest of the top; the long tail is not kept.
  const signals = new Map<string, SignalVector>();
  for (const { path: p } of scored.slice(0, SIGNALS_KEPT)) signals.set(p, raw.get(p) as SignalVector);
  for (const p of mentioned) if (raw.has(p)) signals.set(p, raw.get(p) as SignalVector);
  return { files, signals };
}

/** The k entries with the highest score, best first (ties by key), without sorting them all. */
function topK(entries: Map<string, SignalVector>, k: number, score: (v: SignalVector, key: string) => number): Array<{ key: string; score: number }> {
  const top: Array<{ key: string; score: number }> = [];
  let floor = -Infinity;
  for (const [key, v] of entries) {
    const s = score(v, key);
    if (top.length >= k && s < floor) continue;
    top.push({ key, score: s });
    if (top.length >= 2 * k) {
      top.sort(byScore);
      top.length = k;
      floor = top[k - 1].score;
    }
  }
  top.sort(byScore);
  if (top.length > k) top.length = k;
  return top;
}

const byScore = (a: { key: string; score: number }, b: { key: string; score: number }): number =>
  b.score - a.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function normalise(vectors: Map<string, SignalVector>, keys: Array<keyof SignalVector>): void {
  for (const k of keys) {
    let max = 0;
    for (const v of vectors.values()) if (v[k] > max) max = v[k];
    if (max > 0) for (const v of vectors.values()) v[k] /= max;
  }
}
