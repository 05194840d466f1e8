import type { AskParams, AttachedContext } from '../../protocol/chat';
import { BroadProjectError, type AssembledContext, type ContextEngine, type ContextProject } from '../context/engine';
import { BROAD_OVERRIDE, contextBudget, mayIndex, mentionedFiles, openProject, type ContextSettings } from '../context/project-rules';
import { abortableSleep } from '../timers/sleep';

export type { ContextSettings } from '../context/project-rules';

/** What an ask takes from the engine: the block to put before the question, and what it holds. */
export interface AttachResult {
  /** The text to send as the question: the context block, then the user's words. */
  prompt: string;
  attached?: AttachedContext;
  /** Why nothing was attached when the user would expect it (still indexing, an error). */
  notice?: string;
  feedback?: (answer: string) => void;
}

/**
 * Puts project context before a question, from a project `mayIndex` allows. The first
 * ask in a project waits a little for its index, then goes without rather than keep the user
 * waiting; the index keeps building and the next ask has it.
 */
export class ContextAttacher {
  /** Projects an ask already waited for: later asks during the same first index do not wait again. */
  private readonly waitedFor = new Set<string>();

  constructor(
    private readonly engine: ContextEngine,
    private readonly settings: () => ContextSettings,
  ) {}

  /** Context is a help, never a cause of failure: whatever goes wrong, the question goes without it. */
  async attach(params: AskParams, window: number | undefined, signal: AbortSignal): Promise<AttachResult> {
    try {
      return await this.tryAttach(params, window, signal);
    } catch (error) {
      return { prompt: params.prompt, notice: `no project context: ${(error as Error).message}` };
    }
  }

  private async tryAttach(params: AskParams, window: number | undefined, signal: AbortSignal): Promise<AttachResult> {
    const settings = this.settings();
    const question = params.prompt;
    if (params.noContext || !settings.enabled || !params.project) return { prompt: question };
    if (!mayIndex(params.project, params.projectExplicit)) return { prompt: question };
    const budget = contextBudget(settings, window);
    if (budget < 200) return { prompt: question };
    let project: ContextProject;
    try {
      project = openProject(this.engine, params.project, settings, params.projectForce);
    } catch (error) {
      if (error instanceof BroadProjectError) return { prompt: question, notice: `no project context: ${error.message}; ${BROAD_OVERRIDE}` };
      throw error;
    }
    if (project.progress().state === 'indexing') {
      const first = !this.waitedFor.has(project.root);
      this.waitedFor.add(project.root);
      if (first) await Promise.race([project.ready().then(noop, noop), wait(settings.waitMs, signal)]);
    }
    if (signal.aborted) return { prompt: question };
    const progress = project.progress();
    if (progress.state === 'indexing') {
      const done = progress.filesTotal > 0 ? `${progress.filesDone}/${progress.filesTotal} files` : 'counting files';
      return { prompt: question, notice: `indexing ${project.root} (${done}): no project context this time; \`aic context\` shows the progress` };
    }
    if (progress.state === 'error')
      return { prompt: question, notice: `no project context: indexing ${project.root} failed: ${progress.message ?? 'unknown error'}` };

    const mentioned = [...new Set([...mentionedFiles(question, project.root, params.cwd), ...(params.contextAdd ?? [])])];
    const excluded = params.contextDrop ?? [];
    const assembling = project.assemble(question, {
      tokenBudget: budget,
      ...(params.openFile ? { openFile: params.openFile } : {}),
      ...(mentioned.length ? { mentioned } : {}),
      ...(excluded.length ? { excluded } : {}),
    });
    // A project catching up after being unwatched can take a while: the question does not wait for it.
    const bundle: AssembledContext | undefined = await Promise.race([assembling, wait(settings.waitMs, signal).then(() => undefined)]);
    if (signal.aborted) return { prompt: question };
    if (!bundle) return { prompt: question, notice: `${project.root} is catching up with changes: no project context this time` };
    const paths = [...new Set(bundle.attachments.map((a) => a.path))];
    // The user hears which file named by hand was not sent and why; never what is in it.
    const notices = [
      ...(progress.partial ? [progress.partial] : []),
      ...(bundle.notAttached.length ? [`not attached: ${bundle.notAttached.map((n) => `${n.path} (${n.reason})`).join(', ')}`] : []),
    ];
    const notice = notices.length ? notices.join('; ') : undefined;
    const refused = new Set(bundle.notAttached.map((n) => n.path));
    const picked = mentioned.filter((m) => !refused.has(m));
    if (!bundle.attachments.length) return { prompt: question, ...(notice ? { notice } : {}) };
    const attached: AttachedContext = {
      project: project.root,
      files: bundle.attachments.map((a) => ({ path: a.path, tokens: a.tokens, startLine: a.startLine, endLine: a.endLine, whole: a.whole })),
      tokensUsed: bundle.tokensUsed,
      tokenBudget: bundle.tokenBudget,
    };
    return {
      prompt: `${bundle.prompt}Question:\n${question}`,
      attached,
      ...(notice ? { notice } : {}),
      // The learner hears how the answer used what was attached; a failure to learn never fails an ask.
      feedback: (answer) =>
        void project.recordAnswer({ query: question, attached: paths, answer, mentioned: picked, removed: excluded }).catch(() => undefined),
    };
  }
}

const noop = (): void => undefined;

/** Waits at most `ms`, less when the ask is cancelled; never rejects. */
const wait = (ms: number, signal: AbortSignal): Promise<void> => abortableSleep(ms, signal).catch(noop);
