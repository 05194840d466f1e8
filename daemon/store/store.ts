import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';

/** Bumped when a stored shape changes; each step has a migration below the store's callers. */
export const SCHEMA_VERSION = 1;

export interface Migration {
  /** The schema version this migration produces. */
  to: number;
  description: string;
  run(store: Store): Promise<void>;
}

/** Named databases; a room that needs a new one adds it here so the set stays visible. */
export const DB_NAMES = ['meta', 'requests', 'discovery', 'aggregates', 'budgets', 'alerts', 'sessions', 'turns', 'ctx-files', 'ctx-projects', 'ctx-git', 'ctx-learner', 'pending'] as const;
export type DbName = (typeof DB_NAMES)[number];

/**
 * The daemon's one lmdb environment. Writes go through lmdb's async batching: a `put` promise
 * resolves after its transaction committed to the file, which survives `kill -9` of the process.
 */
export class Store {
  private constructor(
    readonly path: string,
    private readonly root: RootDatabase,
    private readonly dbs: Map<DbName, Database>,
    private readonly target: number,
  ) {}

  /** `target` is this build's schema version; tests pass a later one to exercise a chain of migrations. */
  static async open(dataDir: string, migrations: Migration[] = [], target = SCHEMA_VERSION): Promise<Store> {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = path.join(dataDir, 'aid.lmdb');
    const root = open({ path: file, encoding: 'msgpack', maxDbs: 32 });
    const dbs = new Map<DbName, Database>();
    for (const name of DB_NAMES) dbs.set(name, root.openDB({ name, encoding: 'msgpack' }));
    const store = new Store(file, root, dbs, target);
    try {
      await store.migrate(migrations);
    } catch (error) {
      // A refused or failed migration must not leave the environment open behind the error.
      await root.close();
      throw error;
    }
    return store;
  }

  db<V = unknown>(name: DbName): Database<V, string> {
    return this.dbs.get(name) as unknown as Database<V, string>;
  }

  /**
   * Runs `action` in one write transaction: its puts commit together or not at all, and its reads
   * see the writes before it. The daemon is the only writer, so read-modify-write is safe here.
   */
  transaction<T>(action: () => T): Promise<T> {
    return this.root.transaction(action);
  }

  get schemaVersion(): number {
    return (this.db<number>('meta').get('schemaVersion')) ?? 0;
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

  /** Waits for pending writes to commit, then closes the environment. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.root.flushed;
    await this.root.close();
  }
  private closed = false;
}
