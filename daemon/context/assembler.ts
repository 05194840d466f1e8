import type { FileIndex } from './file-index';
import type { RankedFile } from './ranker';
import type { Definition } from './symbols';
import { BYTES_PER_TOKEN, estimateTokens } from '../tokens/count';
import { terms as termsOf } from './tokens';
import { definitionTerms } from './file-index';

export interface Attachment {
  path: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  tokens: number;
  /** The whole file, rather than parts of it. */
  whole: boolean;
  text: string;
}

export interface ContextBundle {
  project: string;
  files: RankedFile[];
  attachments: Attachment[];
  tokenBudget: number;
  tokensUsed: number;
  /** The block to put before the user's question. */
  prompt: string;
}

/** Tokens for an attachment's heading and code fence (the longest form of both). */
const frameTokens = (path: string): number => estimateTokens(`${path} (whole file, lines 999999-999999)\n\`\`\`xxxxxx\n\n\`\`\`\n\n`);
/** A file up to this share of the budget goes whole; a bigger one is cut to its relevant definitions. */
const WHOLE_SHARE = 0.25;
/** A definition longer than this share of the budget is cut to its first lines. */
const PART_SHARE = 0.15;

const fence = (path: string): string => {
  const ext = path.slice(path.lastIndexOf('.') + 1);
  return /^[a-z0-9]{1,6}$/i.test(ext) ? ext : '';
};

export function header(project: string, files: number): string {
  return (
    `Context from the ` +
    `project ${project}: ${files} file${files === 1 ? '' : 's'} or parts of files chosen for the question below (sizes ` +
    `estimated at ${BYTES_PER_TOKEN} bytes per token).\n\n`
  );
}

export function renderAttachment(a: Attachment): string {
  const where = a.whole ? `${a.path} (whole file, lines ${a.startLine}-${a.endLine})` : `${a.path} (lines ${a.startLine}-${a.endLine})`;
  return `${where}\n\`\`\`${fence(a.path)}\n${a.text}\n\`\`\`\n\n`;
}

/**
 * Fills a token budget with the ranked files in order: a small file whole, a bigger one as the
 * definitions whose names share terms with the question (outermost first, each with its line
 * range; one too long for the budget is cut after its signature and first lines), or its head
 * when no definition matches. Stops when the budget is spent.
 */
export function assemble(args: {
  project: string;
  query: string;
  ranked: RankedFile[];
  index: FileIndex;
  read: (path: string) => string | undefined;
  tokenBudget: number;
}): ContextBundle {
  const qTerms = new Set(termsOf(args.query));
  const attachments: Attachment[] = [];
  const used = new Set<string>();
  let remaining = args.tokenBudget - estimateTokens(header(args.project, 99));
  for (const file of args.ranked) {
    const frame = frameTokens(file.path);
    if (remaining < frame + 20) continue;
    const text = args.read(file.path);
    if (text === undefined) continue;
    const lines = text.split('\n');
    const tokens = estimateTokens(text);
    if (tokens + frame <= remaining && tokens <= Math.max(WHOLE_SHARE * args.tokenBudget, 200)) {
      attachments.push({ path: file.path, startLine: 1, endLine: lines.length, tokens, whole: true, text });
      remaining -= tokens + frame;
      used.add(file.path);
      continue;
    }
    const defs = args.index.get(file.path)?.facts.defs ?? [];
    const relevant = relevantDefinitions(defs, qTerms);
    const ranges = relevant.length ? relevant.map((d) => [d.startLine, d.endLine] as const) : [[1, Math.min(lines.length, 60)] as const];
    for (const [start, end] of ranges) {
      if (remaining < frame + 20) break;
      const cap = Math.min(remaining - frame, Math.max(PART_SHARE * args.tokenBudget, 100));
      let last = end;
      let part = lines.slice(start - 1, last).join('\n');
      while (estimateTokens(part) > cap && last > start) {
        // Cut to what fits, keeping the signature: binary steps are not needed at these sizes.
        last = start + Math.max(0, Math.floor((last - start) * 0.7));
        part = lines.slice(start - 1, last).join('\n');
      }
      const t = estimateTokens(part);
      if (t > cap) continue;
      attachments.push({ path: file.path, startLine: start, endLine: last, tokens: t, whole: false, text: part });
      remaining -= t + frame;
      used.add(file.path);
    }
  }
  const files = args.ranked.filter((f) => used.has(f.path));
  const body = attachments.map(renderAttachment).join('');
  const prompt = attachments.length ? header(args.project, files.length) + body : '';
  return { project: args.project, files, attachments, tokenBudget: args.tokenBudget, tokensUsed: estimateTokens(prompt), prompt };
}

/** Definitions sharing terms with the question, best first, without ones nested in another chosen one. */
function relevantDefinitions(defs: Definition[], qTerms: Set<string>): Definition[] {
  const scored = defs
    .map((d) => ({ d, s: definitionTerms(d.name).filter((t) => qTerms.has(t)).length }))
    .filter((x) => x.s > 0)
    .sort((a, b) => b.s - a.s || a.d.endLine - a.d.startLine - (b.d.endLine - b.d.startLine));
  const chosen: Definition[] = [];
  for (const { d } of scored) {
    if (chosen.some((c) => c.startLine <= d.startLine && c.endLine >= d.endLine)) continue;
    for (let i = chosen.length - 1; i >= 0; i--) if (d.startLine <= chosen[i].startLine && d.endLine >= chosen[i].endLine) chosen.splice(i, 1);
    chosen.push(d);
  }
  return chosen.slice(0, 6).sort((a, b) => a.startLine - b.startLine);
}
