import * as path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { readSmallFileNoFollow } from './no-follow';

/** Directories never worth indexing: VCS data, dependencies, build output, caches. */
const SKIP_DIRS = new Set([
  '.git',
  '.hg',
  '.svn',
  'node_modules',
  'dist',
  'build',
  'out',
  'target',
  'vendor',
  '__pycache__',
  '.venv',
  'venv',
  '.tox',
  '.mypy_cache',
  '.pytest_cache',
  '.next',
  '.nuxt',
  'coverage',
  '.cache',
  '.idea',
  '.vscode',
  'bower_components',
  '.gradle',
  '.terraform',
]);
/** Generated files that restate other files: lockfiles and the like. */
const SKIP_FILES = new Set([
  'package-lock.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'Cargo.lock',
  'go.sum',
  'poetry.lock',
  'Pipfile.lock',
  'composer.lock',
  'Gemfile.lock',
  'uv.lock',
  'npm-shrinkwrap.json',
]);
const BINARY_EXT = new Set(
  (
    'png jpg jpeg gif bmp ico webp svgz pdf zip gz tgz bz2 xz zst 7z rar jar war class o a so dylib dll exe bin wasm woff woff2 ttf otf eot mp3 mp4 mov ' +
    'avi webm ogg wav flac db sqlite lmdb mdb pyc pyo node map snap'
  ).split(' '),
);
/**
 * Files that hold credentials are never indexed nor sent to a model, even when committed or named
 * by hand: a question that mentions "env" must not carry the API keys upstream. Templates of them
 * (`.env.example`) hold none and stay.
 */
const SECRET_DIRS = new Set(['.ssh', '.aws', '.gnupg', '.kube', '.docker', '.azure', '.password-store']);
const SECRET_FILES = new Set([
  '.npmrc',
  '.pypirc',
  '.netrc',
  '.git-credentials',
  '.htpasswd',
  'credentials',
  'credentials.json',
  'id_rsa',
  'id_dsa',
  'id_ecdsa',
  'id_ed25519',
  '.pgpass',
  'secrets.yml',
  'secrets.yaml',
  'secrets.json',
]);
const SECRET_EXT = new Set(['pem', 'key', 'p12', 'pfx', 'jks', 'keystore', 'kdbx', 'tfvars', 'tfstate', 'age', 'gpg', 'asc']);
const SECRET_TEMPLATE = /\.(example|sample|template|dist)$/i;

/** Whether a relative posix path is, or lies under, a credentials file or directory. */
export function isSecretPath(rel: string): boolean {
  const parts = rel.split('/');
  if (parts.slice(0, -1).some((d) => SECRET_DIRS.has(d))) return true;
  const base = parts[parts.length - 1] ?? '';
  if (SECRET_DIRS.has(base)) return true;
  if (SECRET_TEMPLATE.test(base)) return false;
  if (SECRET_FILES.has(base) || /^\.env(\..+)?$/.test(base) || /^id_(rsa|dsa|ecdsa|ed25519)(\..+)?$/.test(base)) return true;
  const dot = base.lastIndexOf('.');
  return dot > 0 && SECRET_EXT.has(base.slice(dot + 1).toLowerCase());
}

/** Over this a file is data or generated, not something to put before a model. */
export const MAX_FILE_BYTES = 512 * 1024;

/**
 * Which paths of a project are indexed: .gitignore rules (the root's and nested ones, each applying
 * below its own directory), then fixed rules for VCS, dependency, build and generated files.
 * Binary content and huge files are refused later, when the file is read (see `looksIndexable`).
 */
export class FileFilter {
  /** Directory (relative, '' for the root) → its .gitignore's rules. */
  private readonly rules = new Map<string, Ignore>();

  constructor(readonly root: string) {}

  /**
   * Reads (or re-reads) the .gitignore of a directory; called by the walk and by the watcher. A
   * link named .gitignore is not followed, nor is a FIFO waited on.
   */
  loadGitignore(relDir: string): void {
    const text = readSmallFileNoFollow(path.join(this.root, relDir, '.gitignore'), MAX_FILE_BYTES);
    if (text === undefined) this.rules.delete(relDir);
    else this.rules.set(relDir, ignore().add(text));
  }

  /** Whether a relative posix path (a directory when `isDir`) is left out. */
  ignored(rel: string, isDir: boolean): boolean {
    if (rel === '' || rel === '.') return false;
    if (isSecretPath(rel)) return true;
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    if (isDir) {
      if (SKIP_DIRS.has(base)) return true;
    } else {
      if (SKIP_FILES.has(base) || base.endsWith('.min.js') || base.endsWith('.min.css') || base.endsWith('.map') || base.endsWith('.lock')) return true;
      const dot = base.lastIndexOf('.');
      if (dot > 0 && BINARY_EXT.has(base.slice(dot + 1).toLowerCase())) return true;
    }
    // Each .gitignore on the way down applies to the part of the path below its directory.
    let dir = '';
    for (;;) {
      const rule = this.rules.get(dir);
      if (rule) {
        const sub = dir === '' ? rel : rel.slice(dir.length + 1);
        if (rule.ignores(isDir ? `${sub}/` : sub)) return true;
      }
      const next = rel.indexOf('/', dir === '' ? 0 : dir.length + 1);
      if (next < 0) break;
      dir = rel.slice(0, next);
    }
    return false;
  }
}

/** Binary (a NUL byte in the first 8 KiB) or minified (very long lines) content is not indexed. */
export function looksIndexable(buf: Buffer): boolean {
  const head = buf.subarray(0, 8192);
  if (head.includes(0)) return false;
  if (buf.length > 4096) {
    const newlines = head.reduce((n, b) => (b === 10 ? n + 1 : n), 0);
    if (newlines < head.length / 1000) return false; // average line over 1000 characters: minified
  }
  return true;
}
