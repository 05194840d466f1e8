import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Writable } from 'node:stream';

export interface MessageReaderEvents {
  /**
   * A whole message: one line, or several joined (continuation, a """ block, or a paste).
   * `typedAhead`: typed while the screen was held, so nobody saw it; the caller shows it when it
   * is taken up.
   */
  onMessage(text: string, typedAhead: boolean): void;
  /** Ctrl-C while the screen is held (an answer is being written), or while nothing is typed. */
  onInterrupt(): void;
  /** Ctrl-D on an empty line, or the end of piped input. */
  onEnd(): void;
}

export interface MessageReaderOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WriteStream | NodeJS.WritableStream;
  terminal: boolean;
  /** Where input history is kept between chats (private: prompts can hold anything). */
  historyFile?: string;
  historySize?: number;
  /**
   * Lines that arrive closer together than this were pasted, not typed, and form one message.
   * No person presses Enter twice within it.
   */
  pasteWindowMs?: number;
}

const PROMPT = 'you> ';
const CONTINUATION = '...> ';
const BLOCK_FENCE = '"""';

/**
 * Turns terminal lines into chat messages. A line ending in `\` continues on the next one, a
 * `"""` line opens and closes a block, and a pasted block arrives as one message. Input history
 * (up/down) is readline's, loaded from and saved to `historyFile`.
 */
export class MessageReader {
  private readonly rl: readline.Interface;
  private lines: string[] = [];
  private inBlock = false;
  private closed = false;
  private held = false;
  /** Some line of the message being assembled was typed while the screen was held (so never shown). */
  private typedWhileHeld = false;
  private pasteTimer: NodeJS.Timeout | undefined;
  private readonly pasteWindowMs: number;

  constructor(
    private readonly options: MessageReaderOptions,
    private readonly events: MessageReaderEvents,
  ) {
    this.pasteWindowMs = options.pasteWindowMs ?? 25;
    this.rl = readline.createInterface({
      input: options.input,
      output: this.gate(options.output),
      terminal: options.terminal,
      history: options.terminal ? loadHistory(options.historyFile) : [],
      historySize: options.historySize ?? 1000,
      removeHistoryDuplicates: true,
      prompt: PROMPT,
    });
    this.rl.on('line', (line) => this.onLine(line));
    this.rl.on('SIGINT', () => this.onSigint());
    this.rl.on('close', () => {
      this.closed = true;
      // The end of a pipe still sends its last message; Ctrl-D on a half-typed one at a terminal drops it.
      if (!this.options.terminal && this.lines.length > 0) this.flushNow();
      this.events.onEnd();
    });
    if (options.terminal && options.historyFile) {
      const file = options.historyFile;
      this.rl.on('history', (history: string[]) => saveHistory(file, history));
    }
  }

  /**
   * The caller writes to the screen now (an answer streams): readline stops drawing, so keys typed
   * meanwhile neither land inside the answer nor make readline redraw over it. They still make
   * messages, taken up after the answer.
   */
  hold(): void {
    this.held = true;
  }

  /** Shows the prompt again, with anything typed while the screen was held. */
  prompt(): void {
    if (this.closed) return;
    this.held = false;
    // Piped input gets no prompts: its output is read by scripts.
    if (!this.options.terminal) return;
    // A message typed ahead is about to be sent; the caller shows it then, and prompts after it.
    if (this.pasteTimer) return;
    this.rl.setPrompt(this.lines.length > 0 ? CONTINUATION : PROMPT);
    // readline redraws by moving up as many rows as its last drawing took; what it drew while held
    // never reached the screen, and moving up would wipe the answer. The cursor is on a fresh line.
    (this.rl as unknown as { prevRows: number }).prevRows = 0;
    this.rl.prompt(true);
  }

  /** readline's output, silenced while the screen is held; it keeps the terminal's width. */
  private gate(output: NodeJS.WriteStream | NodeJS.WritableStream): NodeJS.WritableStream {
    const target = output as NodeJS.WriteStream;
    const gate = new Writable({
      write: (chunk: Buffer | string, _encoding, done) => {
        if (!this.held) target.write(chunk);
        done();
      },
    });
    Object.defineProperty(gate, 'columns', { get: () => target.columns ?? 80 });
    Object.defineProperty(gate, 'rows', { get: () => target.rows ?? 24 });
    Object.defineProperty(gate, 'isTTY', { get: () => target.isTTY === true });
    target.on?.('resize', () => gate.emit('resize'));
    return gate;
  }

  close(): void {
    this.rl.close();
  }

  private onLine(line: string): void {
    if (this.held) this.typedWhileHeld = true;
    if (line.trim() === BLOCK_FENCE) {
      this.inBlock = !this.inBlock;
      if (!this.inBlock) return this.flushNow();
      return this.prompt();
    }
    if (this.inBlock) {
      this.lines.push(line);
      return this.prompt();
    }
    if (line.endsWith('\\')) {
      this.lines.push(line.slice(0, -1));
      return this.prompt();
    }
    this.lines.push(line);
    if (!this.options.terminal) return this.flushNow();
    // Wait a moment: more lines this fast are the rest of a paste.
    clearTimeout(this.pasteTimer);
    this.pasteTimer = setTimeout(() => this.flushNow(), this.pasteWindowMs);
  }

  private flushNow(): void {
    clearTimeout(this.pasteTimer);
    this.pasteTimer = undefined;
    if (this.inBlock && this.lines.length === 0) return;
    const text = this.lines.join('\n');
    this.lines = [];
    this.inBlock = false;
    const typedAhead = this.typedWhileHeld;
    this.typedWhileHeld = false;
    if (text.trim()) this.events.onMessage(text, typedAhead);
    else if (!this.held) this.prompt();
  }

  /** Like a shell: Ctrl-C drops what is being typed; on an empty line it is the caller's to handle. */
  private onSigint(): void {
    // While an answer is written, Ctrl-C is for the answer; what was typed ahead stays.
    if (this.held) return this.events.onInterrupt();
    const typing = this.rl.line.length > 0 || this.lines.length > 0 || this.inBlock;
    if (!typing) return this.events.onInterrupt();
    this.lines = [];
    this.inBlock = false;
    this.rl.write(null, { ctrl: true, name: 'e' });
    this.rl.write(null, { ctrl: true, name: 'u' });
    this.options.output.write('^C\n');
    this.prompt();
  }
}

function loadHistory(file: string | undefined): string[] {
  if (!file) return [];
  try {
    // Newest first, as readline keeps it.
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).reverse();
  } catch {
    return [];
  }
}

function saveHistory(file: string, history: string[]): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // Written aside and renamed: two chats at once, or a crash, never leave half a file; and a
    // file made readable by hand becomes private again.
    const next = `${file}.${process.pid}`;
    fs.writeFileSync(next, [...history].reverse().join('\n') + '\n', { mode: 0o600 });
    fs.chmodSync(next, 0o600);
    fs.renameSync(next, file);
  } catch {
    // History is a convenience; a read-only home must not break the chat.
  }
}
