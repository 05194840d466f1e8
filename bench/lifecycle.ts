import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeSandbox } from '../test/helpers/daemon';
import { killDaemons, leaveStaleDaemonFiles, LockContenders, raceStarts, writeStaleLock } from '../test/helpers/start-race';

/** STARTERS processes calling PidLock.acquire at once over a stale lock file, ROUNDS times. */
async function lockRaces(rounds: number, starters: number): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-bench-lock-'));
  const file = path.join(dir, 'aid.sock.lock');
  const contenders = await LockContenders.start(file, starters);
  const holders: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      await writeStaleLock(file);
      holders.push((await contenders.race()).filter((o) => 'acquired' in o && o.acquired).length);
    }
  } finally {
    await contenders.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return [
    `| rounds × racing processes | rounds with one holder | rounds with two or more | rounds with none | most holders in a round |`,
    `|---|---|---|---|---|`,
    `| ${rounds} × ${starters} | ${holders.filter((h) => h === 1).length} | ` +
      `${holders.filter((h) => h > 1).length} | ${holders.filter((h) => h === 0).length} | ${Math.max(...holders)} |`,
  ].join('\n');
}

/**
 * `node dist/bench/lifecycle.js [ROUNDS] [STARTERS]`: races for the daemon's lock, then concurrent
 * `aid start`s over a stale lock and socket (what kill -9 leaves), for docs/benchmarks.md's
 * Reliability → Lifecycle tables. Prints markdown; asserts nothing. Each start round: a fresh
 * sandbox, a daemon killed with SIGKILL, then STARTERS concurrent `aid start`s.
 */
async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 30);
  const starters = Number(process.argv[3] ?? 12);
  const lockTable = await lockRaces(rounds, starters);
  let oneDaemon = 0;
  let twoOrMore = 0;
  let none = 0;
  let socketLost = 0;
  let failedStarters = 0;
  let disagreeing = 0;
  const started = Date.now();
  for (let round = 0; round < rounds; round++) {
    const sandbox = makeSandbox();
    try {
      await leaveStaleDaemonFiles(sandbox);
      const outcome = await raceStarts(sandbox, starters);
      const alive = outcome.daemons.length;
      if (alive === 1) oneDaemon++;
      else if (alive === 0) none++;
      else twoOrMore++;
      // A daemon alive that nobody reaches: a starter removed the socket it was bound to.
      if (alive > 0 && (outcome.answering === undefined || !outcome.daemons.includes(outcome.answering))) socketLost++;
      failedStarters += outcome.starters.filter((r) => r.code !== 0).length;
      if (new Set(outcome.reported).size > 1) disagreeing++;
      process.stderr.write(`round ${round + 1}: ${alive} daemon(s), answering ${outcome.answering ?? 'nobody'}\n`);
      await killDaemons(sandbox);
    } finally {
      sandbox.cleanup();
    }
  }
  const lines = [
    lockTable,
    '',
    `| rounds × concurrent starters | rounds with one daemon | rounds with two or more | rounds with none | rounds whose daemon lost its socket | ` +
      `starters that failed | rounds whose starters named different pids |`,
    `|---|---|---|---|---|---|---|`,
    `| ${rounds} × ${starters} | ${oneDaemon} | ${twoOrMore} | ${none} | ${socketLost} | ${failedStarters} | ${disagreeing} |`,
    '',
    `(${((Date.now() - started) / 1000).toFixed(0)} s)`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
