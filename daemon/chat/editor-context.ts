import * as path from 'node:path';
import type { AttachedFile, EditorContext } from '../../protocol/chat';
import { isSecretPath } from '../context/file-filter';
import { estimateTokens } from '../tokens/count';

/** What an editor's question brings besides the project's files: its selection, its unsaved buffer. */
export interface EditorBlock {
  /** Put before the project's context. */
  text: string;
  file: AttachedFile;
  tokens: number;
}

/** The buffer's path relative to the project root, when it lies inside it ('/' separators). */
export function bufferPath(editor: EditorContext | undefined, root: string): string | undefined {
  if (!editor?.file) return undefined;
  const rel = path.relative(root, path.resolve(root, editor.file));
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

/** The name a block shows: the path in the project, else the file's own name (no home directory goes to a provider). */
function shownName(editor: EditorContext, root: string | undefined): string {
  if (!editor.file) return 'the editor';
  return (root && bufferPath(editor, root)) || path.basename(editor.file);
}

const fence = (editor: EditorContext): string => (editor.language && /^[\w+#.-]{1,32}$/.test(editor.language) ? editor.language : '');

function block(heading: string, editor: EditorContext, text: string): string {
  return `${heading}\n\`\`\`${fence(editor)}\n${text}\n\`\`\`\n\n`;
}

/**
 * The selection: what the user asks about, so it goes first and always, whatever the budget
 * (it counts in it: project files get what is left). Empty selections are no selection.
 */
export function selectionBlock(editor: EditorContext | undefined, root: string | undefined): EditorBlock | undefined {
  const selection = editor?.selection;
  if (!editor || !selection || !selection.text.trim()) return undefined;
  const name = shownName(editor, root);
  const startLine = Math.min(selection.start.line, selection.end.line) + 1;
  const endLine = Math.max(selection.start.line, selection.end.line) + 1;
  const text = block(`Selected in ${name} (lines ${startLine}-${endLine}):`, editor, selection.text);
  const tokens = estimateTokens(text);
  return { text, tokens, file: { path: name, tokens, startLine, endLine, whole: false, from: 'selection' } };
}

/**
 * The buffer as the editor has it, in place of the file on disk: whole when it fits half of the
 * budget left, else the lines around the cursor that do. Only a project's own file, never a
 * credentials file (the caller says which was refused, never what is in it).
 */
export function bufferBlock(editor: EditorContext | undefined, root: string, budget: number): EditorBlock | 'secret' | undefined {
  const rel = bufferPath(editor, root);
  if (!editor || editor.text === undefined || rel === undefined) return undefined;
  if (isSecretPath(rel)) return 'secret';
  const lines = editor.text.split('\n');
  const cap = Math.floor(budget / 2);
  const render = (first: number, last: number): string => {
    const whole = first === 0 && last === lines.length - 1;
    const heading = `${rel} (${whole ? 'whole file' : 'part of the file'} as open in the editor, unsaved changes included, lines ${first + 1}-${last + 1})`;
    return block(heading, editor, lines.slice(first, last + 1).join('\n'));
  };
  let text = render(0, lines.length - 1);
  let [first, last] = [0, lines.length - 1];
  if (estimateTokens(text) > cap) {
    // Grow a window from the cursor, a line above and a line below at a time, while it fits.
    const at = Math.min(lines.length - 1, Math.max(0, editor.cursor?.line ?? editor.selection?.start.line ?? 0));
    [first, last] = [at, at];
    text = render(at, at);
    if (estimateTokens(text) > cap) return undefined;
    for (let grew = true; grew;) {
      grew = false;
      for (const [f, l] of [
        [first - 1, last],
        [first, last + 1],
      ] as const) {
        if (f < 0 || l >= lines.length) continue;
        const candidate = render(f, l);
        if (estimateTokens(candidate) > cap) continue;
        [first, last, text, grew] = [f, l, candidate, true];
      }
    }
  }
  const tokens = estimateTokens(text);
  const whole = first === 0 && last === lines.length - 1;
  return { text, tokens, file: { path: rel, tokens, startLine: first + 1, endLine: last + 1, whole, from: 'buffer' } };
}
