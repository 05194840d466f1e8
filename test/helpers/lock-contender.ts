import * as readline from 'node:readline';
import { PidLock } from '../../daemon/server/lock';

/**
 * A process that takes part in lock races: prints "ready", then on "go" tries
 * `PidLock.acquire(FILE)` at once and prints the outcome as JSON; on "release" lets go of what it
 * got and prints "released". Many of these released together race as tightly as real starters can.
 */
const file = process.argv[2];
let held: PidLock | undefined;
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'go') {
    let outcome: string;
    try {
      const result = PidLock.acquire(file);
      if (result.acquired) held = result.lock;
      outcome = JSON.stringify({ acquired: result.acquired });
    } catch (error) {
      outcome = JSON.stringify({ error: (error as Error).message });
    }
    process.stdout.write(outcome + '\n');
  } else if (line === 'release') {
    held?.release();
    held = undefined;
    process.stdout.write('released\n');
  }
});
lines.on('close', () => process.exit(0));
process.stdout.write('ready\n');
