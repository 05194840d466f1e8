import type { AskParams, AttachedContext } from '../../protocol/chat';
import type { ContextIndexProgress } from '../../protocol/context';
import { BroadProjectError, type AssembledContext, type ContextEngine, type ContextProject } from '../context/engine';
import { BROAD_OVERRIDE, contextBudget, mayIndex, mentionedFiles, openProject, type ContextSettings } from '../context/project-rules';
import { abortableSleep } from '../timers/sleep';
import { bufferBlock, bufferPath, selectionBlock, type EditorBlock } from './editor-context';

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

/** Told how a project's first index advances while an ask waits for it. */
export type IndexProgressListener = (project: string, progress: ContextIndexProgress) => void;

/** What tryAttach found: the context block (without the question), what it holds, and why not more. */
type Found = Omit<AttachResult, 'prompt'> & { block?: string };

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

  /**
   * Context is a help, never a cause of failure: whatever goes wrong, the question goes without it.
   * An editor's selection goes first in any case (it is what the user asks about).
   */
  async attach(params: AskParams, window: number | undefined, signal: AbortSignal, onProgress?: IndexProgressListener): Promise<AttachResult> {
    const selection = selectionBlock(params.editor, params.project);
    let found: Found;
    try {
      found = await this.tryAttach(params, window, signal, selection?.tokens ?? 0, onProgress);
    } catch (error) {
      found = { notice: `no project context: ${(error as Error).message}` };
    }
    const { block, ...rest } = found;
    if (!selection) return { ...rest, prompt: block ? `${block}Question:\n${params.prompt}` : params.prompt };
    const attached: AttachedContext = rest.attached
      ? { ...rest.attached, files: [selection.file, ...rest.attached.files], tokensUsed: rest.attached.tokensUsed + selection.tokens }
      : { project: params.project ?? '', files: [selection.file], tokensUsed: selection.tokens, tokenBudget: contextBudget(this.settings(), window) };
    return { ...rest, attached, prompt: `${selection.text}${block ?? ''}Question:\n${params.prompt}` };
  }

  private async tryAttach(
    params: AskParams,
    window: number | undefined,
    signal: AbortSignal,
    selectionTokens: number,
    onProgress: IndexProgressListener | undefined,
  ): Promise<Found> {
    const settings = this.settings();
    const question = params.prompt;
    if (params.noContext || !settings.enabled || !params.project) return {};
    if (!mayIndex(params.project, params.projectExplicit)) return {};
    const budget = contextBudget(settings, window);
    if (budget < 200) return {};
    let project: ContextProject;
    try {
      project = openProject(this.engine, params.project, settings, params.projectForce);
    } catch (error) {
      if (error instanceof BroadProjectError) return { notice: `no project context: ${error.message}; ${BROAD_OVERRIDE}` };
      throw error;
    }
    // The editor's buffer stands in for its file on disk, whatever the index's state.
    const buffer = bufferBlock(params.editor, project.root, budget - selectionTokens);
    const editorFile = params.editor?.text !== undefined ? bufferPath(params.editor, project.root) : undefined;
    const withBuffer = (found: Found): Found => (typeof buffer === 'object' ? withBufferBlock(found, buffer, project.root, budget) : found);
    const bufferNotice = buffer === 'secret' ? [`not attached: ${editorFile ?? ''} (a credentials file)`] : [];
    if (project.progress().state === 'indexing') {
      const first = !this.waitedFor.has(project.root);
      this.waitedFor.add(project.root);
      if (first) await this.waitForIndex(project, settings.waitMs, signal, onProgress);
    }
    if (signal.aborted) return {};
    const progress = project.progress();
    if (progress.state === 'indexing') {
      const done = progress.filesTotal > 0 ? `${progress.filesDone}/${progress.filesTotal} files` : 'counting files';
      return withBuffer({ notice: `indexing ${project.root} (${done}): no project context this time; \`aic context\` shows the progress` });
    }
    if (progress.state === 'error')
      return withBuffer({ notice: `no project context: indexing ${project.root} failed: ${progress.message ?? 'unknown error'}` });

    const mentioned = [...new Set([...mentionedFiles(question, project.root, params.cwd), ...(params.contextAdd ?? [])])];
    const excluded = params.contextDrop ?? [];
    // The disk copy of the editor's buffer is stale: the buffer is sent instead.
    const notFromDisk = [...excluded, ...(editorFile ? [editorFile] : [])];
    const openFile = params.openFile ?? params.editor?.file;
    const assembling = project.assemble(question, {
      tokenBudget: Math.max(0, budget - selectionTokens - (typeof buffer === 'object' ? buffer.tokens : 0)),
      ...(openFile ? { openFile } : {}),
      ...(mentioned.length ? { mentioned } : {}),
      ...(notFromDisk.length ? { excluded: notFromDisk } : {}),
    });
    // A project catching up after being unwatched can take a while: the question does not wait for it.
    const bundle: AssembledContext | undefined = await Promise.race([assembling, wait(settings.waitMs, signal).then(() => undefined)]);
    if (signal.aborted) return {};
    if (!bundle) return withBuffer({ notice: `${project.root} is catching up with changes: no project context this time` });
    const paths = [...new Set(bundle.attachments.map((a) => a.path))];
    // The user hears which file named by hand was not sent and why; never what is in it.
    const notices = [
      ...bufferNotice,
      ...(progress.partial ? [progress.partial] : []),
      ...(bundle.notAttached.length ? [`not attached: ${bundle.notAttached.map((n) => `${n.path} (${n.reason})`).join(', ')}`] : []),
    ];
    const notice = notices.length ? notices.join('; ') : undefined;
    const refused = new Set(bundle.notAttached.map((n) => n.path));
    const picked = mentioned.filter((m) => !refused.has(m));
    if (!bundle.attachments.length) return withBuffer(notice ? { notice } : {});
    const attached: AttachedContext = {
      project: project.root,
      files: bundle.attachments.map((a) => ({ path: a.path, tokens: a.tokens, startLine: a.startLine, endLine: a.endLine, whole: a.whole })),
      tokensUsed: bundle.tokensUsed,
      // The whole budget: the editor's selection and buffer are counted in it beside the files.
      tokenBudget: budget,
    };
    return withBuffer({
      block: bundle.prompt,
      attached,
      ...(notice ? { notice } : {}),
      // The learner hears how the answer used what was attached; a failure to learn never fails an ask.
      feedback: (answer) =>
        void project.recordAnswer({ query: question, attached: paths, answer, mentioned: picked, removed: excluded }).catch(() => undefined),
    });
  }

  /** Waits for the first index a little, telling the listener how far it is. */
  private async waitForIndex(project: ContextProject, waitMs: number, signal: AbortSignal, onProgress: IndexProgressListener | undefined): Promise<void> {
    const off = onProgress ? project.onProgress((p) => onProgress(project.root, p)) : noop;
    onProgress?.(project.root, project.progress());
    try {
      await Promise.race([project.ready().then(noop, noop), wait(waitMs, signal)]);
    } finally {
      off();
    }
  }
}

/** The buffer goes before the project's files, and is counted with them. */
function withBufferBlock(found: Found, buffer: EditorBlock, root: string, budget: number): Found {
  const attached: AttachedContext = found.attached
    ? { ...found.attached, files: [buffer.file, ...found.attached.files], tokensUsed: found.attached.tokensUsed + buffer.tokens }
    : { project: root, files: [buffer.file], tokensUsed: buffer.tokens, tokenBudget: budget };
  return { ...found, attached, block: `${buffer.text}${found.block ?? ''}` };
}

const noop = (): void => undefined;

/** Waits at most `ms`, less when the ask is cancelled; never rejects. */
const wait = (ms: number, signal: AbortSignal): Promise<void> => abortableSleep(ms, signal).catch(noop);
