import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * A real pseudo-terminal driven the way a person uses one: tmux (from Debian) runs the command in
 * a pane on its own server, keys are sent with send-keys and the screen is read with
 * capture-pane. Each terminal has a private server socket, so tests never meet a user's tmux.
 */
export class TmuxTerminal {
  private readonly socket: string;

  private constructor(dir: string) {
    this.socket = path.join(dir, 'tmux.sock');
  }

  /** Starts `command` (argv) in a `width`×`height` pane; the server inherits `env`. */
  static start(dir: string, command: string[], env: NodeJS.ProcessEnv, cwd: string, size = { width: 160, height: 50 }): TmuxTerminal {
    const terminal = new TmuxTerminal(dir);
    const shellCommand = `${command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}; echo "[exit $?]"`;
    // remain-on-exit keeps the pane, with the status line the shell prints, after the command ends.
    terminal.tmux(['-f', '/dev/null', 'new-session', '-d', '-x', String(size.width), '-y', String(size.height), '-c', cwd, shellCommand], {
      ...env,
      TERM: 'xterm-256color',
    });
    terminal.tmux(['set-option', '-g', 'remain-on-exit', 'on']);
    terminal.tmux(['set-option', '-g', 'history-limit', '5000']);
    return terminal;
  }

  /** Literal text, typed (no key names interpreted). */
  type(text: string): void {
    this.tmux(['send-keys', '-t', '0', '-l', text]);
  }

  /** Key names as tmux knows them: Enter, C-c, C-d, Up. */
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', '0', ...keys]);
  }

  /** The whole scrollback and screen, with wrapped lines joined back together. */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-t', '0', '-S', '-5000']);
  }

  /** Resolves with the screen once `pattern` matches it; the error shows what the screen held. */
  async waitFor(pattern: RegExp, timeoutMs = 10000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${pattern}; it shows:\n${screen.trimEnd()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * The command's exit status once it has ended, else undefined. The shell around the command
   * prints it: tmux 3.3 marks a pane dead without always knowing the status.
   */
  exitStatus(): number | undefined {
    const match = /^\[exit (\d+)\]$/m.exec(this.screen());
    return match ? Number(match[1]) : undefined;
  }

  async waitForExit(timeoutMs = 10000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = this.exitStatus();
      if (status !== undefined) return status;
      if (Date.now() > deadline) throw new Error(`the command did not end; the terminal shows:\n${this.screen().trimEnd()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      // Already gone.
    }
  }

  private tmux(args: string[], env?: NodeJS.ProcessEnv): string {
    return execFileSync('tmux', ['-S', this.socket, ...args], { encoding: 'utf8', ...(env ? { env } : {}), stdio: ['ignore', 'pipe', 'pipe'] });
  }
}
