import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

export interface MessageReaderEvents {
  /** A whole message: one line, or several joined (continuation, a """ block, or a paste). */
  onMessage(text: string): void;
  /** Ctrl-C while nothing is being typed. */
  onInterrupt(): void;
  /** Ctrl-D on an empty line, or the end of piped input. */
  onEnd(): void;
}

export interface MessageReaderOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
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
  private pasteTimer: NodeJS.Timeout | undefined;
  private readonly pasteWindowMs: number;

  constructor(
    private readonly options: MessageReaderOptions,
    private readonly events: MessageReaderEvents,
  ) {
    this.pasteWindowMs = options.pasteWindowMs ?? 25;
    this.rl = readline.createInterface({
      input: options.input,
      output: options.output,
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
      // What was typed or piped before the end is still sent.
      if (this.lines.length > 0) this.flushNow();
      this.events.onEnd();
    });
    if (options.terminal && options.historyFile) {
      const file = options.historyFile;
      this.rl.on('history', (history: string[]) => saveHistory(file, history));
    }
  }

  prompt(): void {
    if (this.closed) return;
    this.rl.setPrompt(this.lines.length > 0 ? CONTINUATION : PROMPT);
    this.rl.prompt();
  }

  close(): void {
    this.rl.close();
  }

  private onLine(line: string): void {
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
    if (text.trim()) this.events.onMessage(text);
    else this.prompt();
  }

  /** Like a shell: Ctrl-C drops what is being typed; on an empty line it is the caller's to handle. */
  private onSigint(): void {
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
    fs.writeFileSync(file, [...history].reverse().join('\n') + '\n', { mode: 0o600 });
  } catch {
    // History is a convenience; a read-only home must not break the chat.
  }
}
