import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ContextEngine, type ContextProject } from '../../daemon/context/engine';
import { FileFilter } from '../../daemon/context/file-filter';
import { readTextInProject, resolveInProject } from '../../daemon/context/inside-project';
import { eventually, makeRepo, type TempRepo } from '../helpers/context-repo';

/** What must never reach a model: it is in files outside the project and in credentials files. */
const KEY = 'KEYMATERIAL-7f3a9c-deployment-signing-notes';

describe('context: links never lead out of a project', () => {
  let repo: TempRepo;
  let engine: ContextEngine;
  let outside: string;
  beforeEach(async () => {
    repo = await makeRepo({
      'src/deploy.ts': 'export function deploySigningNotes(): string {\n  return "deployment signing notes";\n}\n',
      'docs/guide.md': '# Deployment guide\n\nHow deployment signing works.\n',
      'config/.env': `SIGNING_KEY=${KEY}\n`,
    });
    repo.commit('first', 1_700_000_000);
    // Beside the project, as ~/.ssh and ../secret are: never part of it.
    outside = path.join(repo.dir, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'id_rsa'), `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY}\n-----END OPENSSH PRIVATE KEY-----\n`);
    fs.writeFileSync(path.join(outside, 'notes.md'), `deployment signing notes: ${KEY}\n`);
    fs.writeFileSync(path.join(outside, '.env'), `TOKEN=${KEY}\n`);
    engine = new ContextEngine({ store: repo.store });
  });
  afterEach(async () => {
    await engine.close();
    await repo.cleanup();
  });

  const link = (target: string, at: string): void => fs.symlinkSync(target, path.join(repo.root, at));
  async function open(): Promise<ContextProject> {
    const p = engine.project(repo.root);
    await p.ready();
    await p.watchReady();
    return p;
  }

  it(
    'takes a file named by hand by where it really leads: links out, links to credentials and files below a linked directory are ' + 'refused with why',
    async () => {
      link(path.join(outside, 'id_rsa'), 'notes.md');
      link('../outside/.env', 'deploy-settings.txt');
      link('config/.env', 'settings.txt');
      link(outside, 'shared');
      link('docs/guide.md', 'current.md');
      const p = await open();
      const bundle = await p.assemble('summarise the deployment signing notes', {
        tokenBudget: 4000,
        mentioned: ['notes.md', 'deploy-settings.txt', 'settings.txt', 'shared/notes.md', 'current.md', '../outside/notes.md', 'config/.env'],
      });
      assert.deepEqual(bundle.notAttached, [
        { path: 'notes.md', reason: 'a link to a file outside the project' },
        { path: 'deploy-settings.txt', reason: 'a link to a file outside the project' },
        { path: 'settings.txt', reason: 'a link to a credentials file' },
        { path: 'shared/notes.md', reason: 'a link to a file outside the project' },
        { path: '../outside/notes.md', reason: 'outside the project' },
        { path: 'config/.env', reason: 'a credentials file' },
      ]);
      assert.ok(!bundle.prompt.includes(KEY), 'no credential reached the prompt');
      // A link that stays inside the project is read as the file it leads to, under that file's name.
      assert.match(bundle.prompt, /\ndocs\/guide\.md \(whole file, lines 1-\d+\)\n```md\n# Deployment guide/);
    },
  );

  it('indexes no link, by the walk or the watcher, whatever it leads to; a file turned into a link leaves the index', async () => {
    link(path.join(outside, 'notes.md'), 'early.md');
    const p = await open();
    assert.deepEqual(p.files().sort(), ['docs/guide.md', 'src/deploy.ts']);
    // Made while watched: the watcher reports links as files; none may be read through.
    link(path.join(outside, 'notes.md'), 'later.md');
    link('config/.env', 'deploy-settings.txt');
    link(outside, 'shared');
    fs.rmSync(path.join(repo.root, 'src/deploy.ts'));
    link(path.join(outside, 'id_rsa'), 'src/deploy.ts');
    // Written after the links, in the same directories: once these are indexed, the links' events were handled.
    repo.write('sentinelRoot.md', 'zebraRootSentinel\n');
    repo.write('src/sentinel.ts', 'export const zebraSrcSentinel = 1;\n');
    await eventually('the sentinels are indexed', async () => {
      const r = await p.rank('zebraRootSentinel zebraSrcSentinel', { limit: 5 });
      return r.some((f) => f.path === 'sentinelRoot.md') && r.some((f) => f.path === 'src/sentinel.ts');
    });
    assert.deepEqual(p.files().sort(), ['docs/guide.md', 'sentinelRoot.md', 'src/sentinel.ts']);
    // src/deploy.ts is still in git history (co-change, recency): history names a path, it never reads one.
    const bundle = await p.assemble('deployment signing notes deploySigningNotes', { tokenBudget: 4000, openFile: 'later.md' });
    assert.ok(!bundle.prompt.includes(KEY), bundle.prompt);
    assert.ok(!bundle.files.some((f) => ['early.md', 'later.md', 'deploy-settings.txt', 'src/deploy.ts'].includes(f.path)), JSON.stringify(bundle.files));
  });

  it('reads through no link even when handed a path already checked (O_NOFOLLOW, and the opened file is checked again)', () => {
    link(path.join(outside, 'notes.md'), 'swapped.md');
    assert.deepEqual(readTextInProject(repo.root, path.join(repo.root, 'swapped.md')), { reason: 'outside', viaLink: true });
    assert.deepEqual(resolveInProject(repo.root, 'docs/../swapped.md'), { reason: 'outside', viaLink: true });
    assert.deepEqual(readTextInProject(repo.root, path.join(repo.root, 'docs/guide.md')), { text: '# Deployment guide\n\nHow deployment signing works.\n' });
  });

  it('neither waits on a FIFO nor follows a link named .gitignore', async () => {
    execFileSync('mkfifo', [path.join(repo.root, 'docs', '.gitignore')]);
    execFileSync('mkfifo', [path.join(repo.root, 'pipe.md')]);
    fs.writeFileSync(path.join(outside, 'ignore-all'), '*\n');
    link(path.join(outside, 'ignore-all'), '.gitignore');
    const filter = new FileFilter(repo.root);
    filter.loadGitignore('');
    filter.loadGitignore('docs');
    assert.equal(filter.ignored('src/deploy.ts', false), false, 'the rules of a file outside the project do not apply');
    const p = await open();
    assert.deepEqual(p.files().sort(), ['docs/guide.md', 'src/deploy.ts']);
    const bundle = await p.assemble('pipe', { tokenBudget: 4000, mentioned: ['pipe.md'] });
    assert.deepEqual(bundle.notAttached, [{ path: 'pipe.md', reason: 'not a regular file' }]);
  });
});
