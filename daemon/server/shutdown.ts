import type { Logger } from '../log/logger';

interface Step {
  name: string;
  run: () => Promise<void> | void;
}

/**
 * One ordered shutdown, however it is triggered (aid stop, SIGTERM, SIGINT, SIGHUP, fatal error).
 * Steps run in the order they were added; a failing step is logged and the rest still run.
 * Calling `run` again returns the same promise.
 */
export class Shutdown {
  private readonly steps: Step[] = [];
  private running: Promise<void> | undefined;
  private resolveFinished: () => void = () => undefined;
  /** Resolves once a shutdown has run to the end. */
  readonly finished = new Promise<void>((resolve) => {
    this.resolveFinished = resolve;
  });

  constructor(private readonly logger: Logger) {}

  add(name: string, run: () => Promise<void> | void): void {
    this.steps.push({ name, run });
  }

  get started(): boolean {
    return this.running !== undefined;
  }

  run(reason: string): Promise<void> {
    this.running ??= this.execute(reason);
    return this.running;
  }

  private async execute(reason: string): Promise<void> {
    this.logger.info('shutting down', { reason });
    for (const step of this.steps) {
      try {
        await step.run();
        this.logger.debug('shutdown step done', { step: step.name });
      } catch (error) {
        this.logger.error('shutdown step failed', { step: step.name, error: (error as Error).message });
      }
    }
    this.resolveFinished();
  }
}
