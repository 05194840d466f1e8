import { Language, Parser, Query, type Node } from 'web-tree-sitter';

/** A named definition with the lines it spans (1-based, inclusive) and its first line as signature. */
export interface Definition {
  name: string;
  kind: string;
  startLine: number;
  endLine: number;
  signature: string;
}

export interface Symbols {
  defs: Definition[];
  /** Import specifiers as written (`./store`, `pkg.mod`, `github.com/x/y`, `crate::a::b`, `mod x;`). */
  imports: string[];
  /** 'tree-sitter' or 'regex': how the definitions were found. */
  via: 'tree-sitter' | 'regex';
}

export type LanguageId = 'typescript' | 'tsx' | 'javascript' | 'python' | 'go' | 'rust';

const EXTENSIONS: Record<string, LanguageId> = {
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  '.tsx': 'tsx',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.jsx': 'javascript',
  '.py': 'python',
  '.pyi': 'python',
  '.go': 'go',
  '.rs': 'rust',
};

export function languageOf(file: string): LanguageId | undefined {
  const dot = file.lastIndexOf('.');
  return dot < 0 ? undefined : EXTENSIONS[file.slice(dot).toLowerCase()];
}

// One query per language: @def is the defining node, @name its name, @import a specifier.
const JS_COMMON = `
(function_declaration name: (_) @name) @def
(generator_function_declaration name: (_) @name) @def
(class_declaration name: (_) @name) @def
(method_definition name: (_) @name) @def
(variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression) (class)]) @def
(program (lexical_declaration (variable_declarator name: (identifier) @name)) @def)
(program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name))) @def)
(import_statement source: (string) @import)
(export_statement source: (string) @import)
(call_expression function: (identifier) @req arguments: (arguments . (string) @import))
`;
const TS_EXTRA = `
(abstract_class_declaration name: (_) @name) @def
(interface_declaration name: (_) @name) @def
(type_alias_declaration name: (_) @name) @def
(enum_declaration name: (_) @name) @def
(abstract_method_signature name: (_) @name) @def
(public_field_definition name: (_) @name) @def
`;
const QUERIES: Record<LanguageId, string> = {
  typescript: JS_COMMON + TS_EXTRA,
  tsx: JS_COMMON + TS_EXTRA,
  javascript: JS_COMMON,
  python: `
(function_definition name: (identifier) @name) @def
(class_definition name: (identifier) @name) @def
(module (expression_statement (assignment left: (identifier) @name)) @def)
(import_statement name: (dotted_name) @import)
(import_statement name: (aliased_import name: (dotted_name) @import))
(import_from_statement) @importfrom
`,
  go: `
(function_declaration name: (identifier) @name) @def
(method_declaration name: (field_identifier) @name) @def
(type_spec name: (type_identifier) @name) @def
(source_file (const_declaration (const_spec name: (identifier) @name) @def))
(source_file (var_declaration (var_spec name: (identifier) @name) @def))
(import_spec path: (interpreted_string_literal) @import)
`,
  rust: `
(function_item name: (identifier) @name) @def
(struct_item name: (type_identifier) @name) @def
(enum_item name: (type_identifier) @name) @def
(union_item name: (type_identifier) @name) @def
(trait_item name: (type_identifier) @name) @def
(type_item name: (type_identifier) @name) @def
(const_item name: (identifier) @name) @def
(static_item name: (identifier) @name) @def
(macro_definition name: (identifier) @name) @def
(mod_item name: (identifier) @name) @def
(impl_item type: (_) @name) @def
(use_declaration argument: (_) @import)
`,
};

const WASM_NAME: Record<LanguageId, string> = { typescript: 'typescript', tsx: 'tsx', javascript: 'javascript', python: 'python', go: 'go', rust: 'rust' };

/** Files over this many characters are not parsed by tree-sitter (the regex fallback is linear). */
const MAX_PARSE_CHARS = 300_000;

/**
 * Definitions and imports of source files: tree-sitter (web-tree-sitter with the prebuilt grammars
 * of `tree-sitter-wasms`) for TypeScript/TSX/JavaScript, Python, Go and Rust; a line-based regex
 * for every other text. `init()` loads the grammars once; until then, or if a grammar fails to
 * load, everything goes through the regex.
 */
export class SymbolExtractor {
  private parser: Parser | undefined;
  private readonly languages = new Map<LanguageId, { language: Language; query: Query }>();
  private initing: Promise<void> | undefined;

  constructor(private readonly log: (msg: string) => void = () => undefined) {}

  init(): Promise<void> {
    this.initing ??= this.load();
    return this.initing;
  }

  private async load(): Promise<void> {
    try {
      await Parser.init();
      this.parser = new Parser();
    } catch (error) {
      this.log(`tree-sitter unavailable, using the regex fallback: ${String(error)}`);
      return;
    }
    for (const id of Object.keys(QUERIES) as LanguageId[]) {
      try {
        const language = await Language.load(require.resolve(`tree-sitter-wasms/out/tree-sitter-${WASM_NAME[id]}.wasm`));
        this.languages.set(id, { language, query: new Query(language, QUERIES[id]) });
      } catch (error) {
        this.log(`tree-sitter grammar ${id} unavailable, using the regex fallback: ${String(error)}`);
      }
    }
  }

  extract(file: string, text: string): Symbols {
    const id = languageOf(file);
    const lang = id && this.languages.get(id);
    if (!id || !lang || !this.parser || text.length > MAX_PARSE_CHARS) return regexSymbols(text, id);
    this.parser.setLanguage(lang.language);
    const tree = this.parser.parse(text);
    if (!tree) return regexSymbols(text, id);
    try {
      return collect(id, lang.query, tree.rootNode);
    } finally {
      tree.delete();
    }
  }
}

function collect(id: LanguageId, query: Query, root: Node): Symbols {
  const defs: Definition[] = [];
  const imports: string[] = [];
  for (const match of query.matches(root)) {
    let def: Node | undefined;
    let name: Node | undefined;
    let isRequire = true;
    for (const c of match.captures) {
      if (c.name === 'def') def = c.node;
      else if (c.name === 'name') name = c.node;
      else if (c.name === 'req') isRequire = c.node.text === 'require';
      else if (c.name === 'import' && isRequire) imports.push(unquote(c.node.text));
      else if (c.name === 'importfrom') imports.push(...pythonFromImport(c.node.text));
    }
    if (def && name) {
      const startLine = def.startPosition.row + 1;
      // Two patterns can match one definition (an exported arrow function): keep the first.
      if (defs.some((d) => d.name === name.text && d.startLine === startLine)) continue;
      if (id === 'rust' && def.type === 'mod_item' && !def.text.includes('{')) imports.push(`mod ${name.text}`);
      defs.push({
        name: name.text,
        kind: KIND[def.type] ?? def.type.replace(/_(declaration|definition|item|spec|declarator|signature)$/, ''),
        startLine,
        endLine: def.endPosition.row + 1,
        signature: signatureOf(def.text),
      });
    }
  }
  return { defs, imports, via: 'tree-sitter' };
}

const KIND: Record<string, string> = {
  export_statement: 'const',
  lexical_declaration: 'const',
  expression_statement: 'variable',
  variable_declarator: 'function',
  type_alias_declaration: 'type',
};

const unquote = (s: string): string => s.replace(/^["'`]|["'`]$/g, '');

/** `from .a.b import c, d` → ['.a.b.c', '.a.b.d', '.a.b']: a name may be a module or a symbol. */
function pythonFromImport(text: string): string[] {
  const m = /^from\s+(\S+)\s+import\s+\(?([^)]*)\)?/s.exec(text);
  if (!m) return [];
  const base = m[1];
  const names = m[2]
    .split(',')
    .map((n) => n.trim().split(/\s+/)[0])
    .filter((n) => /^\w+$/.test(n));
  const sep = base.endsWith('.') ? '' : '.';
  return [...names.map((n) => `${base}${sep}${n}`), base];
}

/** The first line of a definition, as its signature; long ones are cut. */
function signatureOf(text: string): string {
  const first = text.split('\n', 1)[0].trim();
  return first.length > 200 ? `${first.slice(0, 200)}…` : first;
}

const REGEX_DEF =
  /^(\s*)(?:export\s+|pub(?:\([^)]*\))?\s+|public\s+|private\s+|protected\s+|static\s+|async\s+|abstract\s+|final\s+|default\s+)*(def|function|func|fn|class|struct|interface|type|enum|trait|module|impl|object|record|sub|proc)\s+\*?\s*(?:\([^)]*\)\s*)?([A-Za-z_][A-Za-z0-9_]*)/;
const REGEX_IMPORT =
  /^\s*(?:import\s+(?:[^'"]*from\s+)?['"]([^'"]+)['"]|(?:const|let|var)\s+.*require\(\s*['"]([^'"]+)['"]\s*\)|from\s+(\S+)\s+import|import\s+([\w.]+)|#include\s+["<]([^">]+)[">]|use\s+([\w:]+))/;

/**
 * The fallback: a definition is a line starting with a defining keyword; it ends before the next
 * line at the same or lower indentation that is not blank or a closing bracket (capped at 200
 * lines). Sound for the common layouts of most languages; never claims a definition mid-line.
 */
export function regexSymbols(text: string, id?: LanguageId): Symbols {
  const lines = text.split('\n');
  const defs: Definition[] = [];
  const imports: string[] = [];
  const open: Array<{ def: Definition; indent: number }> = [];
  const indentOf = (l: string): number => l.length - l.trimStart().length;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const indent = indentOf(line);
    if (!/^([)\]}]|end\b)/.test(trimmed)) {
      while (open.length && open[open.length - 1].indent >= indent) {
        const done = open.pop();
        if (done) done.def.endLine = Math.max(done.def.startLine, lastNonBlank(lines, i - 1) + 1);
      }
    } else {
      while (open.length && open[open.length - 1].indent > indent) open.pop();
      const top = open[open.length - 1];
      if (top && top.indent === indent) {
        top.def.endLine = i + 1;
        open.pop();
      }
    }
    const d = REGEX_DEF.exec(line);
    if (d) {
      const def: Definition = { name: d[3], kind: d[2], startLine: i + 1, endLine: Math.min(lines.length, i + 200), signature: signatureOf(trimmed) };
      defs.push(def);
      open.push({ def, indent });
    }
    const imp = REGEX_IMPORT.exec(line);
    if (imp) {
      const spec = imp[1] ?? imp[2] ?? imp[3] ?? imp[4] ?? imp[5] ?? imp[6];
      if (spec) imports.push(id === 'python' || !imp[3] ? spec : spec);
    }
  }
  for (const { def } of open) def.endLine = Math.min(def.endLine, lastNonBlank(lines, lines.length - 1) + 1);
  return { defs, imports, via: 'regex' };
}

function lastNonBlank(lines: string[], from: number): number {
  let i = from;
  while (i > 0 && lines[i].trim() === '') i--;
  return i;
}
