import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Database, type RootDatabase, type RootDatabaseOptionsWithPath } from 'lmdb';
import type { StoreIncident } from '../../protocol/daemon';
import { preparePrivateDir } from '../files/private-dir';
import { WriteHold } from './write-hold';

/** Bumped when a stored shape changes; each step has a migration below the store's callers. */
export const SCHEMA_VERSION = 1;

export interface Migration {
  /** The schema version this migration produces. */
  to: number;
  description: string;
  run(store: Store): Promise<void>;
}

/** Named databases; a room that needs a new one adds it here so the set stays visible. */
export const DB_NAMES = [
  'meta',
  'requests',
  'discovery',
  'aggregates',
  'budgets',
  'alerts',
  'sessions',
  'turns',
  'ctx-files',
  'ctx-projects',
  'ctx-git',
  'ctx-learner',
  'pending',
] as const;
export type DbName = (typeof DB_NAMES)[number];

const READS = ['get', 'getRange', 'getKeys', 'getValues', 'getCount', 'getStats', 'doesExist'] as const;
const WRITES = ['put', 'remove'] as const;

/**
 * A named database as the rooms use it. Each call goes to the environment open at that moment, so
 * a handle kept by a room stays good when the store is written back after its file vanished.
 */
export type StoreDb<V> = Pick<Database<V, string>, (typeof READS)[number] | (typeof WRITES)[number]>;

export interface StoreOptions {
  /** Whose data directory this is (default: this process's uid). */
  uid?: number;
  /** A data directory that others could enter was tightened to 0700, or store files to 0600. */
  onTightened?: (what: string, previousMode: number) => void;
  /** The store's file vanished or was replaced while open, then was (or could not be) written back. */
  onIncident?: (incident: StoreIncident) => void;
  now?: () => number;
}

interface Environment {
  file: string;
  root: RootDatabase;
  dbs: Map<DbName, Database>;
  /** The file the environment opened, to notice when the path names another file or none. */
  dev: number;
  ino: number;
}

type Method = (...args: unknown[]) => unknown;

/** lmdb creates the data file and its lock file with this mode (its default is 0664). */
const FILE_MODE = 0o600;

function openEnvironment(file: string): Environment {
  // permissionsMode is passed to mdb_env_open for the data and lock files; lmdb's types omit it.
  const options: RootDatabaseOptionsWithPath & { permissionsMode: number } = { path: file, encoding: 'msgpack', maxDbs: 32, permissionsMode: FILE_MODE };
  const root = open(options);
  const dbs = new Map<DbName, Database>();
  for (const name of DB_NAMES) dbs.set(name, root.openDB({ name, encoding: 'msgpack' }));
  const stat = fs.statSync(file);
  return { file, root, dbs, dev: stat.dev, ino: stat.ino };
}

/** The data file and lmdb's lock file beside it. */
const storeFiles = (file: string): string[] => [file, `${file}-lock`];

/**
 * The daemon's one lmdb environment. Writes go through lmdb's async batching: a `put` promise
 * resolves after its transaction committed to the file, which survives `kill -9` of the process.
 *
 * If the file vanishes while open (the data directory deleted), nothing is lost yet: the open
 * environment still holds all of it. The store notices (`verify`, called on writes, on status and
 * by a timer), holds new writes back, lets the writes already queued commit, copies the whole
 * environment to the path again, reopens it there, and lets the held writes through in order.
 */
export class Store {
  private env: Environment;
  /** Environments replaced by a write-back: kept open until close, a reader may still iterate one. */
  private readonly retired: Environment[] = [];
  private readonly facades = new Map<DbName, StoreDb<unknown>>();
  private inTransaction = 0;
  private hold: WriteHold | undefined;
  private writingBack: Promise<void> | undefined;
  private lastIncident: StoreIncident | undefined;
  private retryAt = 0;
  private closed = false;

  private constructor(
    env: Environment,
    private readonly target: number,
    private readonly options: StoreOptions,
  ) {
    this.env = env;
  }

  /** `target` is this build's schema version; tests pass a later one to exercise a chain of migrations. */
  static async open(dataDir: string, migrations: Migration[] = [], target = SCHEMA_VERSION, options: StoreOptions = {}): Promise<Store> {
    const file = path.join(dataDir, 'aid.lmdb');
    Store.prepare(dataDir, options);
    const store = new Store(openEnvironment(file), target, options);
    try {
      await store.migrate(migrations);
    } catch (error) {
      // A refused or failed migration must not leave the environment open behind the error.
      await store.env.root.close();
      throw error;
    }
    return store;
  }

  /** A private data directory (ours, 0700) with private store files (0600) before lmdb opens them. */
  private static prepare(dataDir: string, options: StoreOptions): void {
    const uid = options.uid ?? process.getuid?.() ?? 0;
    preparePrivateDir(dataDir, uid, {
      what: 'data directory',
      envVar: 'AID_DATA_DIR',
      followSymlink: true,
      tightened: (previousMode) => options.onTightened?.(dataDir, previousMode),
    });
    // Files an older aid created 0644 are closed before the store opens them again.
    for (const file of storeFiles(path.join(dataDir, 'aid.lmdb'))) {
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(file);
      } catch {
        continue;
      }
      if (!stat.isFile()) throw new Error(`${file} is not a regular file; move it away or set AID_DATA_DIR elsewhere`);
      if ((stat.mode & 0o077) === 0) continue;
      fs.chmodSync(file, FILE_MODE);
      options.onTightened?.(file, stat.mode & 0o777);
    }
  }

  /** Where the data is: the data directory's aid.lmdb, or the file a replaced store was written back to. */
  get path(): string {
    return this.env.file;
  }

  /** The store's trouble since it opened, if any (the latest word on it). */
  get incident(): StoreIncident | undefined {
    return this.lastIncident;
  }

  db<V = unknown>(name: DbName): StoreDb<V> {
    let facade = this.facades.get(name);
    if (!facade) {
      const current = (): Record<string, Method> => this.env.dbs.get(name) as unknown as Record<string, Method>;
      const methods: Record<string, Method> = {};
      for (const method of READS) methods[method] = (...args) => current()[method](...args);
      for (const method of WRITES) methods[method] = (...args) => this.write(() => current()[method](...args) as Promise<unknown>);
      facade = methods as unknown as StoreDb<unknown>;
      this.facades.set(name, facade);
    }
    return facade as StoreDb<V>;
  }

  /**
   * Runs `action` in one write transaction: its puts commit together or not at all, and its reads
   * see the writes before it. The daemon is the only writer, so read-modify-write is safe here.
   */
  transaction<T>(action: () => T): Promise<T> {
    return this.write(() =>
      this.env.root.transaction(() => {
        this.inTransaction++;
        try {
          return action();
        } finally {
          this.inTransaction--;
        }
      }),
    );
  }

  /** A write outside a transaction waits while the store is being written back; inside one it runs where the transaction runs. */
  private write<T>(run: () => Promise<T>): Promise<T> {
    if (this.inTransaction > 0) return run();
    this.verify();
    return this.hold ? this.hold.defer(run) : run();
  }

  get schemaVersion(): number {
    return this.db<number>('meta').get('schemaVersion') ?? 0;
  }

  /**
   * True while the path still names the file the store opened. When it does not, starts writing
   * everything back (once at a time; after a failure, again 5 s later) and reports the incident.
   */
  verify(): boolean {
    if (this.closed || this.writingBack) return !this.writingBack;
    if (this.intact()) return true;
    if ((this.options.now ?? Date.now)() < this.retryAt) return false;
    this.writingBack = this.writeBack().finally(() => (this.writingBack = undefined));
    return false;
  }

  private intact(): boolean {
    try {
      const stat = fs.statSync(this.env.file);
      return stat.dev === this.env.dev && stat.ino === this.env.ino;
    } catch {
      return false;
    }
  }

  private report(incident: Omit<StoreIncident, 'detectedAt'>): void {
    this.lastIncident = { detectedAt: this.lastIncident?.detectedAt ?? new Date((this.options.now ?? Date.now)()).toISOString(), ...incident };
    this.options.onIncident?.(this.lastIncident);
  }

  private async writeBack(): Promise<void> {
    // Synchronously, before the first await: every write asked from now on waits.
    const hold = (this.hold = new WriteHold());
    const lost = this.env.file;
    const dataDir = path.dirname(lost);
    // A file someone put in its place (a restored backup?) is theirs: ours goes beside it.
    const replaced = fs.existsSync(lost);
    const target = replaced ? `${lost}.kept-${new Date().toISOString().replace(/[:.]/g, '-')}` : lost;
    const what = replaced
      ? `the store file ${lost} was replaced while aid ran`
      : `the store file ${lost} was deleted while aid ran (its data directory removed?)`;
    this.report({ recovered: false, message: `${what}; aid still holds everything that was in it and is writing it back` });
    try {
      // Writes asked before the hold are queued in the open environment: they commit there first.
      await this.env.root.transaction(() => undefined);
      await this.env.root.flushed;
      Store.prepare(dataDir, this.options);
      const temp = `${target}.writing-${process.pid}`;
      fs.rmSync(temp, { force: true });
      await this.env.root.backup(temp, false);
      fs.chmodSync(temp, FILE_MODE);
      fs.renameSync(temp, target);
      const next = openEnvironment(target);
      this.retired.push(this.env);
      this.env = next;
      this.report({
        recovered: true,
        message: replaced
          ? `${what}; aid wrote everything it ` +
            `held to ${target} and records there until it stops. \`aid restart\` uses ` +
            `the new ${lost}; to keep aid's data instead, run \`aid stop\` and move ${target} to ${lost}.`
          : `${what}; aid wrote everything it held back to ${target}: nothing was lost. To start from empty, run \`aid stop\` first, then delete ${dataDir}.`,
      });
    } catch (error) {
      this.retryAt = (this.options.now ?? Date.now)() + 5000;
      this.report({
        recovered: false,
        message:
          `${what}, and aid could not write it ` +
          `back to ${target}: ${(error as Error).message}. aid keeps it in memory and tries again; free the ` +
          `disk or fix ${dataDir} (it is tried once more when aid stops).`,
      });
    } finally {
      // In the order they were asked, into whichever environment is current now.
      this.hold = undefined;
      hold.release();
    }
  }

  /** Runs the migrations newer than the stored version, in order, recording each. */
  private async migrate(migrations: Migration[]): Promise<void> {
    const from = this.schemaVersion;
    if (from > this.target) {
      throw new Error(
        `the data in ${this.path} has schema version ${from}, newer than this aid understands (${this.target}); upgrade aid or point AID_DATA_DIR elsewhere`,
      );
    }
    for (const migration of [...migrations].sort((a, b) => a.to - b.to)) {
      if (migration.to <= from || migration.to > this.target) continue;
      await migration.run(this);
      await this.db('meta').put('schemaVersion', migration.to);
    }
    if (this.schemaVersion < this.target) await this.db('meta').put('schemaVersion', this.target);
  }

  /**
   * Waits for pending writes to commit, then closes the environment. A store whose file vanished
   * and could not be written back gets one more try first. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.writingBack;
    if (!this.intact()) {
      this.retryAt = 0;
      this.verify();
      await this.writingBack;
    }
    this.closed = true;
    for (const env of [this.env, ...this.retired]) {
      await env.root.flushed;
      await env.root.close();
    }
  }
}
