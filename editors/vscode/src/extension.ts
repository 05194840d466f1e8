// The `vscode` API layer only: commands, panels, the status bar item, the model picker. What
// talks to the daemon is in core/ (tested against a real daemon without VS Code).
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { AidService, ChatSession, formatUsd, type AskDone, type AskHandle, type EditorContext } from './core/service';
import { escapeHtml, markdownToHtml, page } from './core/render';

let service: AidService;
let model: string | undefined;

function settings(): { socketPath?: string; aidCommand?: string[] } {
  const config = vscode.workspace.getConfiguration('aid');
  const socket = config.get<string>('socket');
  const command = config.get<string[]>('command');
  return { ...(socket ? { socketPath: socket } : {}), ...(command?.length ? { aidCommand: command } : {}) };
}

/** The git root above the file (or the workspace folder): where project context comes from. */
function projectOf(file: string | undefined): string | undefined {
  let dir = file ? path.dirname(file) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  while (dir && path.dirname(dir) !== dir) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    dir = path.dirname(dir);
  }
  return undefined;
}

function editorContext(editor: vscode.TextEditor, withSelection: boolean): EditorContext {
  const doc = editor.document;
  const sel = editor.selection;
  const at = (p: vscode.Position): { line: number; character: number } => ({ line: p.line, character: p.character });
  return {
    ...(doc.uri.scheme === 'file' ? { file: doc.uri.fsPath } : {}),
    language: doc.languageId,
    text: doc.getText(),
    cursor: at(sel.active),
    ...(withSelection && !sel.isEmpty ? { selection: { start: at(sel.start), end: at(sel.end), text: doc.getText(sel) } } : {}),
  };
}

const summary = (done: AskDone): string =>
  `${done.ref} · ${done.usage.inputTokens} in / ${done.usage.outputTokens} out tokens · ${
    done.costUsd === null ? 'unpriced' : done.costUsd === 0 ? 'free' : formatUsd(done.costUsd)
  }`;

/** "aid: Ask" and "aid: Ask about Selection": the answer streams into a Markdown side panel. */
async function ask(withSelection: boolean): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (withSelection && (!editor || editor.selection.isEmpty)) return void vscode.window.showWarningMessage('aid: select some text first');
  const prompt = await vscode.window.showInputBox({ prompt: withSelection ? 'Ask aid about the selection' : 'Ask aid' });
  if (!prompt) return;
  const panel = vscode.window.createWebviewPanel('aid.answer', `aid: ${prompt.slice(0, 30)}`, vscode.ViewColumn.Beside, { enableScripts: false });
  const nonce = randomBytes(16).toString('hex');
  let answer = '';
  let meta = '';
  const draw = (): void => {
    panel.webview.html = page('aid', `<h3>${escapeHtml(prompt)}</h3>${markdownToHtml(answer)}<p class="meta">${escapeHtml(meta)}</p>`, nonce);
  };
  draw();
  const file = editor?.document.uri.scheme === 'file' ? editor.document.uri.fsPath : undefined;
  const project = projectOf(file);
  const handle = service.ask(
    { prompt, ...(model ? { model } : {}), ...(project ? { project } : {}), ...(editor ? { editor: editorContext(editor, withSelection) } : {}) },
    {
      onStart: (start) => ((meta = `${start.ref} · session ${start.sessionId.slice(0, 8)}`), draw()),
      onDelta: (text) => ((answer += text), draw()),
      onNotice: (notice) => void vscode.window.showWarningMessage(`aid: ${notice.message}`),
    },
  );
  panel.onDidDispose(() => handle.cancel());
  try {
    meta = summary(await handle.done);
  } catch (error) {
    meta = (error as { cancelled?: boolean }).cancelled ? 'cancelled' : `error: ${(error as Error).message}`;
  }
  draw();
}

/** The chat view: one panel per session, messages typed in the panel, the session kept. */
function openChat(sessionId?: string): void {
  const chat = new ChatSession(service, sessionId);
  const panel = vscode.window.createWebviewPanel('aid.chat', 'aid chat', vscode.ViewColumn.Beside, { enableScripts: true, retainContextWhenHidden: true });
  const nonce = randomBytes(16).toString('hex');
  let current: AskHandle | undefined;
  const draw = (): void => {
    const turns = chat.turns
      .map(
        (t) =>
          `<div class="you">You</div><p>${escapeHtml(t.prompt)}</p>${markdownToHtml(t.answer)}` +
          `<p class="meta">${escapeHtml(t.done ? summary(t.done) : (t.error ?? '…'))}</p>`,
      )
      .join('');
    const session = chat.sessionId ? `session ${chat.sessionId.slice(0, 8)}` : 'new session';
    const script =
      `const vscode = acquireVsCodeApi(); const box = document.getElementById('m');` +
      `document.getElementById('send').onclick = () => { vscode.postMessage({ send: box.value }); box.value = ''; };` +
      `document.getElementById('stop').onclick = () => vscode.postMessage({ cancel: true });`;
    panel.webview.html = page(
      'aid chat',
      `<p class="meta">${escapeHtml(session)}</p>${turns}<textarea id="m" rows="3"></textarea><button id="send">Send</button><button id="stop">Stop</button>`,
      nonce,
      script,
    );
  };
  panel.webview.onDidReceiveMessage((message: { send?: string; cancel?: boolean }) => {
    if (message.cancel) current?.cancel();
    if (!message.send?.trim()) return;
    const editor = vscode.window.activeTextEditor;
    const file = editor?.document.uri.scheme === 'file' ? editor.document.uri.fsPath : undefined;
    const project = projectOf(file);
    current = chat.send(message.send, { ...(model ? { model } : {}), ...(project ? { project } : {}) }, { onStart: draw, onDelta: draw });
    current.done.then(draw, draw);
    draw();
  });
  panel.onDidDispose(() => current?.cancel());
  draw();
}

/** "aid: Open Chat Session": continue one of the recorded sessions. */
async function resumeChat(): Promise<void> {
  const sessions = await service.request<{ id: string; title: string; turns: number }[]>('aid/sessions/list', { limit: 30 });
  const picked = await vscode.window.showQuickPick(
    sessions.map((s) => ({ label: s.title, description: `${s.turns} turns`, id: s.id })),
    { placeHolder: 'aid: continue a session' },
  );
  if (picked) openChat(picked.id);
}

async function pickModel(): Promise<void> {
  const [models, fallback] = await Promise.all([service.chatModels(), service.defaultModel().catch(() => undefined)]);
  const items = models.map((m) => ({
    label: m.ref,
    description: [
      m.contextWindow ? `${m.contextWindow} tokens` : '',
      typeof m.price === 'object' ? `${formatUsd(m.price.inputPerMTok)}/${formatUsd(m.price.outputPerMTok)} per MTok` : m.price,
    ]
      .filter(Boolean)
      .join(' · '),
  }));
  const picked = await vscode.window.showQuickPick([{ label: 'default', description: fallback?.ref ? `${fallback.ref}: ${fallback.why}` : '' }, ...items], {
    placeHolder: `aid model (now: ${model ?? 'default'})`,
  });
  if (picked) model = picked.label === 'default' ? undefined : picked.label;
}

export function activate(context: vscode.ExtensionContext): void {
  service = new AidService(settings());
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 50);
  status.command = 'aid.pickModel';
  status.tooltip = "aid: today's spend and the tightest budget (click to pick the model)";
  const show = (text: string): void => {
    status.text = text ? `$(hubot) ${text}` : '';
    if (text) status.show();
    else status.hide();
  };
  service.onStatus(show);
  // The status bar reads the cache; the service refreshes it in the background.
  const timer = setInterval(() => show(service.statusText()), 5000);
  show(service.statusText());
  const run = (fn: () => Promise<void>) => () => fn().catch((error: Error) => void vscode.window.showErrorMessage(`aid: ${error.message}`));
  context.subscriptions.push(
    status,
    { dispose: () => clearInterval(timer) },
    { dispose: () => service.dispose() },
    vscode.commands.registerCommand(
      'aid.ask',
      run(() => ask(false)),
    ),
    vscode.commands.registerCommand(
      'aid.askSelection',
      run(() => ask(true)),
    ),
    vscode.commands.registerCommand('aid.chat', () => openChat()),
    vscode.commands.registerCommand('aid.resumeChat', run(resumeChat)),
    vscode.commands.registerCommand('aid.cancel', () => {
      if (service.cancelAll() === 0) void vscode.window.showInformationMessage('aid: nothing to cancel');
    }),
    vscode.commands.registerCommand('aid.pickModel', run(pickModel)),
  );
}

export function deactivate(): void {
  service?.dispose();
}
