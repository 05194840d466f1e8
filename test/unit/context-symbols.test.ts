import { strict as assert } from 'node:assert';
import { regexSymbols, SymbolExtractor } from '../../daemon/context/symbols';
import { identifierParts, termCounts } from '../../daemon/context/tokens';
import { ImportResolver } from '../../daemon/context/import-resolver';
import { ImportGraph } from '../../daemon/context/import-graph';
import { FACTS_VERSION, FileIndex } from '../../daemon/context/file-index';
import { personalisedPageRank } from '../../daemon/context/pagerank';

describe('context: symbols and terms', () => {
  const extractor = new SymbolExtractor();
  before(() => extractor.init());
  const defs = (file: string, text: string): string[] => extractor.extract(file, text).defs.map((d) => `${d.kind} ${d.name} ${d.startLine}-${d.endLine}`);

  it('splits identifiers on camelCase, acronyms, snake_case and digits', () => {
    assert.deepEqual(identifierParts('parseHTTPConfig2'), ['parse', 'http', 'config']);
    assert.deepEqual(identifierParts('load_user_profile'), ['load', 'user', 'profile']);
    const counts = termCounts('parseConfig(parse_config)');
    assert.equal(counts.get('pars'), 2, 'parse is stemmed to meet parsing/parsed');
    assert.equal(counts.get('parseconfig'), 2, 'the whole identifier counts too');
  });

  it('finds TypeScript definitions with line ranges, and imports', () => {
    const src =
      "import { Store } from './store';\nexport function parseConfig(text: string): Config {\n  return JSON.parse(text);\n}\nexport class Loader {\n  " +
      'load(): void {}\n}\ninterface Config { a: number }\nexport const handler = async () => 1;\n';
    const r = extractor.extract('a.ts', src);
    assert.equal(r.via, 'tree-sitter');
    assert.deepEqual(defs('a.ts', src), ['function parseConfig 2-4', 'class Loader 5-7', 'method load 6-6', 'interface Config 8-8', 'const handler 9-9']);
    assert.deepEqual(r.imports, ['./store']);
    assert.equal(r.defs[0].signature, 'function parseConfig(text: string): Config {');
  });

  it('finds Python, Go and Rust definitions', () => {
    assert.deepEqual(
      defs('m.py', 'from .util import helper\n\nclass Parser:\n    def parse_line(self, line):\n        return line\n\ndef main():\n    pass\n'),
      ['class Parser 3-5', 'function parse_line 4-5', 'function main 7-8'],
    );
    assert.deepEqual(
      defs(
        'm.go',
        'package m\n\ntype Server struct {\n\tAddr string\n}\n\nfunc (s *Server) Serve() error {\n\treturn nil\n}\n\nfunc NewServer() *Server { ' +
          'return &Server{} }\n',
      ),
      ['type Server 3-5', 'method Serve 7-9', 'function NewServer 11-11'],
    );
    assert.deepEqual(
      defs(
        'm.rs',
        'pub struct Config {\n    a: u32,\n}\n\nimpl Config {\n    pub fn load() -> Self {\n        Config { a: 1 }\n    }\n}\n\npub trait Source {}\n',
      ),
      ['struct Config 1-3', 'impl Config 5-9', 'function load 6-8', 'trait Source 11-11'],
    );
  });

  it('falls back to a line-based reading for other languages', () => {
    const r = regexSymbols('class Foo\n  def bar\n    1\n  end\nend\n\ndef baz\nend\n');
    assert.equal(r.via, 'regex');
    assert.deepEqual(
      r.defs.map((d) => `${d.name} ${d.startLine}-${d.endLine}`),
      ['Foo 1-5', 'bar 2-4', 'baz 7-8'],
    );
  });

  it('resolves imports to project files per language', () => {
    const r = new ImportResolver([
      'src/a.ts',
      'src/store/index.ts',
      'pkg/util.py',
      'pkg/__init__.py',
      'app/main.py',
      'internal/srv/srv.go',
      'src/lib.rs',
      'src/config.rs',
      'src/net/mod.rs',
    ]);
    assert.deepEqual(r.resolve('src/a.ts', './store'), ['src/store/index.ts']);
    assert.deepEqual(r.resolve('src/store/index.ts', '../a.js'), ['src/a.ts']);
    assert.deepEqual(r.resolve('app/main.py', 'pkg.util'), ['pkg/util.py']);
    assert.deepEqual(r.resolve('pkg/util.py', '.'), ['pkg/__init__.py']);
    assert.deepEqual(r.resolve('cmd/x.go', 'github.com/me/proj/internal/srv'), ['internal/srv/srv.go']);
    assert.deepEqual(r.resolve('src/lib.rs', 'mod config'), ['src/config.rs']);
    assert.deepEqual(r.resolve('src/config.rs', 'crate::net::Socket'), ['src/net/mod.rs']);
    assert.deepEqual(r.resolve('src/a.ts', 'lodash'), []);
  });

  it('links imports and tests to their subjects in the graph; PageRank ranks near files above far ones', () => {
    const index = new FileIndex();
    const files: Record<string, string[]> = {
      'src/a.ts': ['./b'],
      'src/b.ts': ['./c'],
      'src/c.ts': [],
      'src/d.ts': [],
      'tests/test_cli.py': [],
      'pkg/cli.py': [],
      'cmd/run_test.go': [],
      'cmd/run.go': [],
    };
    for (const [p, imports] of Object.entries(files))
      index.set(p, { hash: p, size: 1, mtimeMs: 1 }, { v: FACTS_VERSION, lines: 1, chars: 1, terms: [], counts: [], defs: [], imports });
    const g = new ImportGraph(index);
    assert.deepEqual([...(g.imports.get('src/a.ts') ?? [])], ['src/b.ts']);
    assert.deepEqual([...(g.importers.get('src/c.ts') ?? [])], ['src/b.ts']);
    assert.deepEqual([...g.testOf].sort(), [
      ['cmd/run_test.go', 'cmd/run.go'],
      ['tests/test_cli.py', 'pkg/cli.py'],
    ]);
    const pr = personalisedPageRank(g.neighbours, new Map([[g.indexOf.get('src/a.ts') as number, 1]]));
    const at = (p: string): number => pr[g.indexOf.get(p) as number];
    assert.ok(at('src/b.ts') > at('src/c.ts') && at('src/c.ts') > at('src/d.ts'));
    assert.equal(at('src/d.ts'), 0);
  });
});
