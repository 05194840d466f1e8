import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BroadProjectError, ContextEngine } from '../../daemon/context/engine';
import { broadProjectReason } from '../../daemon/context/broad-projects';
import { FileFilter } from '../../daemon/context/file-filter';
import { FileIndex } from '../../daemon/context/file-index';
import { Indexer } from '../../daemon/context/indexer';
import { SymbolExtractor } from '../../daemon/context/symbols';
import { eventually, makeRepo, type TempRepo } from '../helpers/context-repo';

/** `dirs` directories of `perDir` small files each, every file defining a function named after it. */
function tree(dirs: number, perDir: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let d = 0; d < dirs; d++)
    for (let f = 0; f < perDir; f++) files[`d${d}/f${f}.ts`] = `export function handler${d}x${f}(): number {\n  return ${d * 100 + f};\n}\n`;
  return files;
}

describe('context: indexing limits', () => {
  let repo: TempRepo;
  let engine: ContextEngine;
  afterEach(async () => {
    await engine.close();
    await repo.cleanup();
  });

  it('stops at maxFiles files, keeps what it has, says it is partial; a raised limit completes it without a restart', async () => {
    repo = await makeRepo(tree(3, 10));
    engine = new ContextEngine({ store: repo.store });
    const p = engine.project(repo.root, { limits: { maxFiles: 12, maxBytes: 1024 ** 3 } });
    await p.ready();
    assert.equal(p.files().length, 12);
    assert.equal(p.progress().state, 'ready');
    assert.match(
      p.progress().partial ?? '',
      new RegExp(
        `^the index of ${repo.root} is partial: indexing stopped at 12 files \\(context\\.maxFiles\\); leave directories out with \\.gitignore, or ` +
          `raise context\\.maxFiles in the config$`,
      ),
    );
    assert.ok((await p.rank('handler', { limit: 50 })).length > 0, 'the partial index answers');
    await p.watchReady();
    engine.project(repo.root, { limits: { maxFiles: 100, maxBytes: 1024 ** 3 } });
    await eventually('the raised limit is applied by a walk', () => p.files().length === 30 && p.progress().partial === undefined);
  });

  it('stops at maxBytes of files', async () => {
    repo = await makeRepo(tree(1, 10));
    engine = new ContextEngine({ store: repo.store });
    const size = fs.statSync(path.join(repo.root, 'd0/f0.ts')).size;
    const p = engine.project(repo.root, { limits: { maxFiles: 1000, maxBytes: size * 4 + 1 } });
    await p.ready();
    assert.equal(p.files().length, 4);
    assert.match(p.progress().partial ?? '', new RegExp(`indexing stopped at ${size * 4 + 1} bytes of files \\(context\\.maxBytes\\)`));
  });

  it('walks at most maxFiles directories, and keeps the shallower files', async () => {
    const deep: Record<string, string> = { 'top.ts': 'export const topLevel = 1;\n' };
    for (let d = 0; d < 20; d++) deep[`a/b${d}/c/deep${d}.ts`] = `export const deep${d} = 1;\n`;
    repo = await makeRepo(deep);
    engine = new ContextEngine({ store: repo.store });
    const p = engine.project(repo.root, { limits: { maxFiles: 8, maxBytes: 1024 ** 3 } });
    await p.ready();
    assert.match(p.progress().partial ?? '', /indexing stopped at 8 directories \(context\.maxFiles\)/);
    assert.ok(p.files().includes('top.ts'), p.files().join(', '));
    assert.ok(p.files().length < 8, p.files().join(', '));
  });

  it('a closing project stops its walk, its parse and its updates at the next file', async () => {
    repo = await makeRepo(tree(5, 5));
    engine = new ContextEngine({ store: repo.store });
    const stopping = new AbortController();
    const extractor = new SymbolExtractor(() => undefined);
    await extractor.init();
    const index = new FileIndex();
    const indexer = new Indexer(repo.store, repo.root, new FileFilter(repo.root), extractor, index, stopping.signal);
    stopping.abort();
    assert.deepEqual(await indexer.walk(), { files: [] });
    assert.equal(indexer.directories.size, 0, 'no directory was read after the abort');
    await indexer.indexAll(() => undefined);
    assert.equal(await indexer.update('d0/f0.ts'), 'skipped');
    assert.equal(index.size, 0);
  });
});

describe('context: /, the home directory and above are no projects', () => {
  let repo: TempRepo | undefined;
  afterEach(() => repo?.cleanup());

  it('knows them by their real paths', () => {
    assert.equal(broadProjectReason('/', '/home/ann'), 'the root of the filesystem');
    assert.equal(broadProjectReason('/', undefined), 'the root of the filesystem');
    assert.equal(broadProjectReason('/home/ann', '/home/ann'), 'your home directory');
    assert.equal(broadProjectReason('/home', '/home/ann'), 'a directory above your home directory');
    assert.equal(broadProjectReason('/home/ann/src/app', '/home/ann'), undefined);
    assert.equal(broadProjectReason('/home/anna', '/home/ann'), undefined);
    assert.equal(broadProjectReason('/srv/app', '/home/ann'), undefined);
  });

  it('refuses to open one (a git repository at $HOME too, and through a link) unless allowed, without indexing anything', async () => {
    repo = await makeRepo({ 'notes/todo.md': 'rotate keys\n', '.bashrc': 'export PATH\n' });
    const home = repo.root;
    const linkToHome = path.join(repo.dir, 'home-link');
    fs.symlinkSync(home, linkToHome);
    // The home directory as the daemon knows it may itself be a link to the real one.
    const engine = new ContextEngine({ store: repo.store, home: linkToHome });
    try {
      for (const dir of [home, path.join(home, 'notes'), linkToHome, repo.dir]) {
        assert.throws(
          () => engine.project(dir),
          (e: unknown) => e instanceof BroadProjectError && e.root === fs.realpathSync(dir === path.join(home, 'notes') ? home : dir),
          dir,
        );
      }
      assert.deepEqual(engine.projects(), [], 'nothing was opened, so nothing is indexed or watched');
      const forced = engine.project(path.join(home, 'notes'), { allowBroad: true });
      await forced.ready();
      assert.deepEqual(forced.files().sort(), ['.bashrc', 'notes/todo.md']);
    } finally {
      await engine.close();
    }
  });
});
