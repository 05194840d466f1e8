import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ContextEngine, ContextProject } from './engine';

/** The rules of which directories are projects and how much context a question gets, shared by asks and aid/context. */

export interface ContextSettings {
  enabled: boolean;
  /** The most tokens of context one question gets, whatever the window. */
  maxTokens: number;
  /** The share of the model's context window context may take. */
  windowShare: number;
  /** How long an ask waits for a project's first index before going without context. */
  waitMs: number;
  /** The most files (and directories) of a project indexed, and the most bytes. */
  maxFiles: number;
  maxBytes: number;
  /** Index /, the home directory and above when the user names one, without --project-force. */
  allowBroadProjects: boolean;
}

/**
 * Whether a directory may be indexed and watched: a git repository, or one the user named
 * (--project). Never a home directory by accident. Asks and aid/context follow the same rule.
 */
export function mayIndex(dir: string, named: boolean | undefined): boolean {
  return named === true || fs.existsSync(path.join(dir, '.git'));
}

/** How to override the refusal of a broad project, said with it. */
export const BROAD_OVERRIDE =
  'run this in a project, name one with --project DIR, or add --project-force (or set context.allowBroadProjects) to index it anyway';

/**
 * The project of `dir` with the configured limits; a broad one (/, the home directory or above)
 * only when `force` or the configuration says so, else BroadProjectError.
 */
export function openProject(engine: ContextEngine, dir: string, settings: ContextSettings, force: boolean | undefined): ContextProject {
  return engine.project(dir, {
    allowBroad: force === true || settings.allowBroadProjects,
    limits: { maxFiles: settings.maxFiles, maxBytes: settings.maxBytes },
  });
}

/** Windows we do not know (OpenAI lists none) get the plain cap. */
export function contextBudget(settings: ContextSettings, window: number | undefined): number {
  const byWindow = window ? Math.floor(window * settings.windowShare) : settings.maxTokens;
  return Math.max(0, Math.min(settings.maxTokens, byWindow));
}

/**
 * `@path` words in a prompt naming files of the project: the user asking for those files. A path is
 * looked up from the client's working directory first (as the user sees it), then from the root.
 */
export function mentionedFiles(prompt: string, root: string, cwd?: string): string[] {
  const found = new Set<string>();
  const isFile = (abs: string): boolean => {
    try {
      return fs.statSync(abs).isFile();
    } catch {
      return false;
    }
  };
  for (const match of prompt.matchAll(/(?:^|\s)@([\w./-]+)/g)) {
    const candidate = match[1].replace(/[.,:;]+$/, '');
    // An e-mail address, a handle or a decorator names no file and is passed over.
    const abs = [...(cwd ? [path.resolve(cwd, candidate)] : []), path.resolve(root, candidate)].find((p) => p.startsWith(root + path.sep) && isFile(p));
    if (abs) found.add(path.relative(root, abs).split(path.sep).join('/'));
  }
  return [...found];
}
