import * as fs from 'node:fs';
import { AidError, cancelled, invalidParams } from '../errors/aid-error';
import { z } from 'zod';
import {
  ContextExplainRequest,
  ContextProgressNotification,
  ContextRequest,
  ContextResetRequest,
  ContextSuggestRequest,
  type ContextIndexProgress,
} from '../../protocol/context';
import { ErrorCodes } from '../../protocol/errors';
import { BROAD_OVERRIDE, contextBudget, mayIndex, openProject, type ContextSettings } from '../context/project-rules';
import { ASSEMBLY_CANDIDATES, BroadProjectError, type ContextEngine, type ContextProject } from '../context/engine';
import type { Router } from '../catalog/router';
import { defineHandler, type Handler, type RequestContext } from '../server/handlers';

const project = z.string().min(1, 'give the project directory').max(4096);
const projectExplicit = z.boolean().optional();
const projectForce = z.boolean().optional();

/**
 * The project's engine, or a clear error; indexed only where an ask would be (`mayIndex`), and
 * never /, the home directory or above unless forced (a usage error naming --project-force).
 */
function open(
  engine: ContextEngine,
  settings: ContextSettings,
  params: { project: string; projectExplicit?: boolean | undefined; projectForce?: boolean | undefined },
): ContextProject {
  const dir = params.project;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw invalidParams(`no such project directory: ${dir}`, ['project']);
  }
  if (!stat.isDirectory()) throw invalidParams(`${dir} is not a directory`, ['project']);
  if (!mayIndex(dir, params.projectExplicit)) {
    throw invalidParams(`${dir} is not in a git repository; run this inside a project, or name its directory with --project DIR`, ['project']);
  }
  try {
    return openProject(engine, dir, settings, params.projectForce);
  } catch (error) {
    if (error instanceof BroadProjectError) throw invalidParams(`${error.message}; ${BROAD_OVERRIDE}`, ['project']);
    throw error;
  }
}

/**
 * Tells the client how far a project's first index is, under the request's progress token: at
 * most ten times a second while indexing, and always the end. Without a token, nothing.
 */
export function progressSender(context: RequestContext, token: string | undefined): (project: string, progress: ContextIndexProgress) => void {
  let last = 0;
  return (project, progress) => {
    const now = Date.now();
    if (!token || (now - last < 100 && progress.state === 'indexing')) return;
    last = now;
    context.notify(ContextProgressNotification, { progressToken: token, project, ...progress });
  };
}

/**
 * Waits for the project's first index, telling the client how far it is, so `aic context` can
 * draw a progress bar. A cancel stops the wait, not the indexing.
 */
async function indexed(p: ContextProject, context: RequestContext, token: string | undefined): Promise<ContextIndexProgress> {
  if (p.progress().state !== 'indexing') return p.progress();
  const sender = progressSender(context, token);
  const send = (progress: ContextIndexProgress): void => sender(p.root, progress);
  send(p.progress());
  const off = p.onProgress(send);
  try {
    await new Promise<void>((resolve, reject) => {
      // A failed index answers with its error instead of leaving the client waiting.
      p.ready().then(resolve, (error: unknown) => reject(new AidError(ErrorCodes.Internal, `indexing ${p.root} failed: ${(error as Error).message}`, {})));
      context.signal.addEventListener('abort', () => reject(cancelled()), { once: true });
    });
  } finally {
    off();
  }
  return p.progress();
}

export function contextHandlers(engine: ContextEngine, router: Router, settings: () => ContextSettings, defaultModel: () => string | undefined): Handler[] {
  /** The budget `aic ask` would have with this model (or the default one); the plain cap when no host answers. */
  const budgetFor = async (model: string | undefined, signal: AbortSignal): Promise<number> => {
    try {
      const candidates = await router.route(model, defaultModel(), signal);
      const windows = candidates.map((c) => c.contextWindow).filter((w): w is number => w !== undefined);
      return contextBudget(settings(), windows.length ? Math.min(...windows) : undefined);
    } catch {
      return contextBudget(settings(), undefined);
    }
  };
  return [
    defineHandler(
      ContextRequest,
      z.object({
        project,
        projectExplicit,
        projectForce,
        query: z.string().min(1, 'give a question to rank the files for').max(100_000),
        limit: z.number().int().min(1).max(1000).optional(),
        openFile: z.string().min(1).optional(),
        model: z.string().min(1).optional(),
        progressToken: z.string().min(1).max(200).optional(),
      }),
      async (params, context) => {
        const p = open(engine, settings(), params);
        const index = await indexed(p, context, params.progressToken);
        const tokenBudget = await budgetFor(params.model, context.signal);
        const opts = params.openFile ? { openFile: params.openFile } : {};
        const limit = params.limit ?? 10;
        // The ranking shown is the one an ask would get, and tokensUsed what it would attach: one
        // ranking serves both.
        const ranked = await p.rank(params.query, { ...opts, limit: Math.max(limit, ASSEMBLY_CANDIDATES) });
        const bundle = await p.assemble(params.query, { ...opts, tokenBudget, ranked });
        return { project: p.root, files: ranked.slice(0, limit), tokenBudget, tokensUsed: bundle.tokensUsed, index: { ...index, counters: p.counters() } };
      },
    ),
    defineHandler(
      ContextSuggestRequest,
      z.object({
        project,
        projectExplicit,
        projectForce,
        file: z.string().min(1, 'give the file you are in'),
        limit: z.number().int().min(1).max(1000).optional(),
        progressToken: z.string().min(1).max(200).optional(),
      }),
      async (params, context) => {
        const p = open(engine, settings(), params);
        await indexed(p, context, params.progressToken);
        return { project: p.root, file: params.file, files: await p.suggestFor(params.file, params.limit ?? 10) };
      },
    ),
    defineHandler(ContextExplainRequest, z.object({ project, projectExplicit, projectForce }), async (params) => {
      const p = open(engine, settings(), params);
      const explained = await p.explain();
      return { ...explained, project: p.root, weights: { ...explained.weights }, defaultWeights: { ...explained.defaultWeights } };
    }),
    defineHandler(ContextResetRequest, z.object({ project, projectExplicit, projectForce }), async (params) => {
      const p = open(engine, settings(), params);
      await p.resetLearning();
      return { project: p.root };
    }),
  ];
}
