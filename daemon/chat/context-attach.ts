import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AskParams, AttachedContext } from '../../protocol/chat';
import type { ContextBundle, ContextEngine, ContextProject } from '../context/engine';

export interface ContextSettings {
  enabled: boolean;
  /** The most tokens of context one question gets, whatever the window. */
  maxTokens: number;
  /** The share of the model's context window context may take. */
  windowShare: number;
  /** How long an ask waits for a project's first index before going without context. */
  waitMs: number;
}

/** What an ask takes from the engine: the block to put before the question, and what it holds. */
export interface AttachResult {
  /** The text to send as the question: the context block, then the user's words. */
  prompt: string;
  attached?: AttachedContext;
  /** Why nothing was attached when the user would expect it (still indexing, an error). */
  notice?: string;
  feedback?: (answer: string) => void;
}

/** Windows we do not know (OpenAI lists none) get the plain cap. */
export function contextBudget(settings: ContextSettings, window: number | undefined): number {
  const byWindow = window ? Math.floor(window * settings.windowShare) : settings.maxTokens;
  return Math.max(0, Math.min(settings.maxTokens, byWindow));
}

/** `@path` words in a prompt naming files of the project: the user asking for those files. */
export function mentionedFiles(prompt: string, root: string): string[] {
  const found = new Set<string>();
  for (const match of prompt.matchAll(/(?:^|\s)@([\w./-]+)/g)) {
    const candidate = match[1].replace(/[.,:;]+$/, '');
    const abs = path.resolve(root, candidate);
    if (!abs.startsWith(root + path.sep)) continue;
    try {
      if (fs.statSync(abs).isFile()) found.add(path.relative(root, abs).split(path.sep).join('/'));
    } catch {
      // Not a file of the project: an e-mail address, a handle, a decorator.
    }
  }
  return [...found];
}

/**
 * Puts project context before a question. A project is used when it is a git repository, or the
 * user named it (--project): an ask from a home directory must not index the whole home. The first
 * ask in a project waits a little for its index, then goes without rather than keep the user
 * waiting; the index keeps building and the next ask has it.
 */
export class ContextAttacher {
  constructor(
    private readonly engine: ContextEngine,
    private readonly settings: () => ContextSettings,
  ) {}

  async attach(params: AskParams, window: number | undefined, signal: AbortSignal): Promise<AttachResult> {
    const settings = this.settings();
    const question = params.prompt;
    if (params.noContext || !settings.enabled || !params.project) return { prompt: question };
    if (!params.projectExplicit && !fs.existsSync(path.join(params.project, '.git'))) return { prompt: question };
    const budget = contextBudget(settings, window);
    if (budget < 200) return { prompt: question };
    let project: ContextProject;
    try {
      project = this.engine.project(params.project);
    } catch (error) {
      return { prompt: question, notice: `no project context: ${(error as Error).message}` };
    }
    const ready = await Promise.race([project.ready().then(() => true), wait(settings.waitMs, signal).then(() => false)]);
    const progress = project.progress();
    if (!ready || progress.state === 'indexing') {
      return { prompt: question, notice: `indexing ${project.root} (${progress.filesDone}/${progress.filesTotal} files): no project context this time; \`aic context\` shows the progress` };
    }
    if (progress.state === 'error') return { prompt: question, notice: `no project context: indexing ${project.root} failed: ${progress.message ?? 'unknown error'}` };

    const mentioned = [...new Set([...mentionedFiles(question, project.root), ...(params.contextAdd ?? [])])];
    const excluded = params.contextDrop ?? [];
    const bundle: ContextBundle = await project.assemble(question, {
      tokenBudget: budget,
      ...(params.openFile ? { openFile: params.openFile } : {}),
      ...(mentioned.length ? { mentioned } : {}),
      ...(excluded.length ? { excluded } : {}),
    });
    if (!bundle.attachments.length) return { prompt: question };
    const attached: AttachedContext = {
      project: project.root,
      files: bundle.attachments.map((a) => ({ path: a.path, tokens: a.tokens, startLine: a.startLine, endLine: a.endLine, whole: a.whole })),
      tokensUsed: bundle.tokensUsed,
      tokenBudget: bundle.tokenBudget,
    };
    const paths = [...new Set(bundle.attachments.map((a) => a.path))];
    return {
      prompt: `${bundle.prompt}Question:\n${question}`,
      attached,
      // The learner hears how the answer used what was attached; a failure to learn never fails an ask.
      feedback: (answer) => void project.recordAnswer({ query: question, attached: paths, answer, mentioned, removed: excluded }).catch(() => undefined),
    };
  }
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
