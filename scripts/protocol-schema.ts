import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createGenerator } from 'ts-json-schema-generator';
import * as ts from 'typescript';
import { exitCodeFor } from '../protocol/errors';
import { PROTOCOL_VERSION } from '../protocol/version';
import { renderReference } from './protocol-doc';

/**
 * The JSON Schema of the aid protocol, generated from protocol/*.ts so it cannot drift from what
 * the daemon and `aic` compile against: every `RequestType`/`NotificationType` constant gives a
 * method or notification (its params and result types), and `ErrorDataByCode` /
 * `JsonRpcErrorDataByCode` in protocol/errors.ts give each error code's `data`. The types
 * themselves are turned into JSON Schema by ts-json-schema-generator.
 *
 *   node dist/scripts/protocol-schema.js --write   (npm run schema) rewrites the schema and the
 *   reference tables of docs/protocol.md; without --write it says whether they are current.
 */

/** The package root, from dist/scripts/ or scripts/. */
export const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
export const SCHEMA_FILE = path.join(ROOT, 'protocol', 'schema', 'aid-protocol.schema.json');
export const DOC_FILE = path.join(ROOT, 'docs', 'protocol.md');

type JsonSchema = Record<string, unknown>;

export interface ProtocolSchema {
  $schema: string;
  $id: string;
  title: string;
  description: string;
  protocolVersion: number;
  methods: Record<string, { description?: string; params?: JsonSchema; result: JsonSchema }>;
  notifications: Record<string, { description?: string; params: JsonSchema }>;
  errors: Record<string, { name: string; description?: string; exitCode: number; data: JsonSchema }>;
  definitions: Record<string, JsonSchema>;
}

interface Entry {
  kind: 'method' | 'notification';
  name: string;
  description?: string;
  /** Type texts, each qualified with the namespace of the protocol file that declares its names. */
  params?: string;
  result?: string;
}

interface ErrorEntry {
  code: number;
  name: string;
  description?: string;
  data: string;
}

const PROTOCOL_TYPES = new Set(['RequestType', 'RequestType0', 'NotificationType', 'NotificationType0']);

function namespaceOf(file: string): string {
  return `p_${path.basename(file, '.ts').replace(/\W/g, '_')}`;
}

/** What the protocol files declare: methods, notifications, and error data by code. */
function readProtocol(files: string[]): { entries: Entry[]; errors: ErrorEntry[]; modules: string[] } {
  const program = ts.createProgram(files, { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.Node16, skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const protocolDir = path.dirname(files[0]);
  const modules = new Set<string>();

  /** The type's text, with each name declared in protocol/ written as `p_file.Name` (the synthetic entry imports every file under such a namespace). */
  const qualify = (node: ts.TypeNode): string => {
    const sf = node.getSourceFile();
    const edits: { start: number; end: number; text: string }[] = [];
    const visit = (n: ts.Node): void => {
      if (ts.isTypeReferenceNode(n) && ts.isIdentifier(n.typeName)) {
        let symbol = checker.getSymbolAtLocation(n.typeName);
        if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
        const declared = symbol?.declarations?.[0]?.getSourceFile().fileName;
        if (declared && path.dirname(declared) === protocolDir) {
          modules.add(declared);
          edits.push({ start: n.typeName.getStart(), end: n.typeName.end, text: `${namespaceOf(declared)}.${symbol?.name ?? ''}` });
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(node);
    let text = sf.text.slice(node.getStart(), node.end);
    for (const edit of edits.sort((a, b) => b.start - a.start)) {
      text = text.slice(0, edit.start - node.getStart()) + edit.text + text.slice(edit.end - node.getStart());
    }
    return text;
  };
  const docOf = (node: ts.Node): string | undefined => {
    const symbol = ts.isVariableDeclaration(node) || ts.isPropertyAssignment(node) ? checker.getSymbolAtLocation(node.name) : undefined;
    const text = symbol ? ts.displayPartsToString(symbol.getDocumentationComment(checker)).replace(/\s+/g, ' ').trim() : '';
    return text || undefined;
  };

  const entries: Entry[] = [];
  const errors: ErrorEntry[] = [];
  for (const file of files) {
    const sf = program.getSourceFile(file);
    if (!sf) throw new Error(`cannot read ${file}`);
    for (const statement of sf.statements) {
      if (ts.isVariableStatement(statement)) {
        for (const decl of statement.declarationList.declarations) {
          const init = decl.initializer;
          if (!init || !ts.isNewExpression(init) || !ts.isIdentifier(init.expression) || !PROTOCOL_TYPES.has(init.expression.text)) continue;
          const [method] = init.arguments ?? [];
          if (!method || !ts.isStringLiteral(method)) throw new Error(`${file}: ${decl.name.getText()} needs a literal method name`);
          const args = init.typeArguments ?? ts.factory.createNodeArray<ts.TypeNode>();
          const kind = init.expression.text.startsWith('Request') ? 'method' : 'notification';
          const description = docOf(decl);
          const base = { kind, name: method.text, ...(description ? { description } : {}) } as const;
          if (init.expression.text === 'RequestType') entries.push({ ...base, params: qualify(args[0]), result: qualify(args[1]) });
          else if (init.expression.text === 'RequestType0') entries.push({ ...base, result: qualify(args[0]) });
          else if (init.expression.text === 'NotificationType') entries.push({ ...base, params: qualify(args[0]) });
          else entries.push({ ...base });
        }
      }
      if (ts.isInterfaceDeclaration(statement) && ['ErrorDataByCode', 'JsonRpcErrorDataByCode'].includes(statement.name.text)) {
        for (const member of statement.members) {
          if (!ts.isPropertySignature(member) || !member.type || !ts.isComputedPropertyName(member.name)) continue;
          const key = member.name.expression;
          const code = checker.getTypeAtLocation(key);
          if (!code.isNumberLiteral() || !ts.isPropertyAccessExpression(key)) throw new Error(`${file}: ${member.name.getText()} is not a code constant`);
          const constant = checker.getSymbolAtLocation(key.name);
          const description = constant ? ts.displayPartsToString(constant.getDocumentationComment(checker)).replace(/\s+/g, ' ').trim() : '';
          errors.push({ code: code.value, name: key.name.text, ...(description ? { description } : {}), data: qualify(member.type) });
        }
      }
    }
  }
  for (const entry of entries) if (entry.kind === 'notification' && entry.params === undefined) throw new Error(`${entry.name}: a notification without params`);
  return { entries, errors: errors.sort((a, b) => b.code - a.code), modules: [...modules] };
}

const key = (name: string): string => JSON.stringify(name);

/** The protocol's schema, generated now from the sources under `root`. */
export function generateSchema(root = ROOT): ProtocolSchema {
  const protocolDir = path.join(root, 'protocol');
  const files = fs
    .readdirSync(protocolDir)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => path.join(protocolDir, f));
  const { entries, errors, modules } = readProtocol(files);
  const methods = entries.filter((e) => e.kind === 'method');
  const notifications = entries.filter((e) => e.kind === 'notification');
  const entry = [
    ...modules.sort().map((m) => `import type * as ${namespaceOf(m)} from ${key(m.replace(/\.ts$/, ''))};`),
    'export interface AidProtocol {',
    '  methods: {',
    ...methods.map((m) => `    ${key(m.name)}: { ${m.params !== undefined ? `params: ${m.params}; ` : ''}result: ${m.result ?? 'void'} };`),
    '  };',
    '  notifications: {',
    ...notifications.map((n) => `    ${key(n.name)}: { params: ${n.params ?? 'void'} };`),
    '  };',
    '  errors: {',
    ...errors.map((e) => `    ${key(String(e.code))}: { data: ${e.data} };`),
    '  };',
    '}',
    '',
  ].join('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-schema-'));
  try {
    const entryFile = path.join(dir, 'entry.ts');
    fs.writeFileSync(entryFile, entry);
    const generated = createGenerator({
      path: entryFile,
      type: 'AidProtocol',
      tsconfig: path.join(root, 'tsconfig.json'),
      skipTypeCheck: true,
      expose: 'export',
      topRef: true,
      jsDoc: 'extended',
      additionalProperties: false,
      sortProps: false,
    }).createSchema('AidProtocol') as { definitions: Record<string, JsonSchema> };
    const { AidProtocol: top, ...definitions } = generated.definitions;
    const sections = (top as { properties: Record<string, { properties: Record<string, { properties: Record<string, JsonSchema> }> }> }).properties;
    const describe = (description: string | undefined): { description?: string } => (description ? { description } : {});
    return {
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: 'aid-protocol.schema.json',
      title: 'The aid protocol',
      description:
        'JSON-RPC 2.0 over a Unix socket with Content-Length framing (docs/protocol.md). Generated from protocol/*.ts by `npm run schema`; do not edit.',
      protocolVersion: PROTOCOL_VERSION,
      methods: Object.fromEntries(
        methods.map((m) => {
          const shape = sections.methods.properties[m.name].properties;
          return [m.name, { ...describe(m.description), ...(shape.params ? { params: shape.params } : {}), result: shape.result }];
        }),
      ),
      notifications: Object.fromEntries(
        notifications.map((n) => [n.name, { ...describe(n.description), params: sections.notifications.properties[n.name].properties.params }]),
      ),
      errors: Object.fromEntries(
        errors.map((e) => [
          String(e.code),
          { name: e.name, ...describe(e.description), exitCode: exitCodeFor(e.code), data: sections.errors.properties[String(e.code)].properties.data },
        ]),
      ),
      definitions,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const serialise = (schema: ProtocolSchema): string => JSON.stringify(schema, null, 2) + '\n';

/** docs/protocol.md with its generated reference rewritten from the schema. */
export function documented(doc: string, schema: ProtocolSchema): string {
  const begin = '<!-- generated by `npm run schema` from protocol/schema/aid-protocol.schema.json: do not edit by hand -->';
  const end = '<!-- end of generated reference -->';
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/protocol.md lacks the markers of its generated reference:\n${begin}\n${end}`);
  return doc.slice(0, from + begin.length) + '\n\n' + renderReference(schema) + '\n' + doc.slice(to);
}

function main(argv: string[]): number {
  const schema = generateSchema();
  const files: [string, string][] = [
    [SCHEMA_FILE, serialise(schema)],
    [DOC_FILE, documented(fs.readFileSync(DOC_FILE, 'utf8'), schema)],
  ];
  if (argv.includes('--write')) {
    fs.mkdirSync(path.dirname(SCHEMA_FILE), { recursive: true });
    for (const [file, text] of files) fs.writeFileSync(file, text);
    process.stdout.write(`wrote ${files.map(([f]) => path.relative(ROOT, f)).join(', ')}\n`);
    return 0;
  }
  const stale = files.filter(([file, text]) => !fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text);
  for (const [file] of stale) process.stderr.write(`${path.relative(ROOT, file)} is out of date: run npm run schema\n`);
  return stale.length ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
