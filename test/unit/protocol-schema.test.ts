import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { DOC_FILE, SCHEMA_FILE, documented, generateSchema, serialise, type ProtocolSchema } from '../../scripts/protocol-schema';
import { ALL_CAPABILITIES, PROTOCOL_VERSION } from '../../protocol/version';
import { FINISH_REASONS } from '../../protocol/chat';
import { ErrorCodes, JsonRpcCodes } from '../../protocol/errors';
import { schemaProblems } from '../helpers/schema-check';

/**
 * The JSON Schema editors read is generated from protocol/*.ts, and docs/protocol.md's reference
 * tables from the schema: neither may differ from what the code compiles against (issue 13).
 */
describe('the protocol schema and its documentation', function () {
  this.timeout(60000);
  let schema: ProtocolSchema;
  before(() => {
    schema = generateSchema();
  });

  it('the committed schema is the one the protocol types generate (run `npm run schema` after changing protocol/)', () => {
    assert.equal(fs.readFileSync(SCHEMA_FILE, 'utf8'), serialise(schema));
  });

  it("docs/protocol.md's method, notification, error and type tables are the ones the schema gives", () => {
    const doc = fs.readFileSync(DOC_FILE, 'utf8');
    assert.equal(doc, documented(doc, schema));
  });

  it('holds every method, notification and error code, with the data protocol/errors.ts types', () => {
    assert.equal(schema.protocolVersion, PROTOCOL_VERSION);
    for (const method of ['aid/handshake', 'aid/ask', 'aid/status', 'aid/models', 'aid/cost', 'aid/budget/list', 'aid/context', 'aid/sessions/show'])
      assert.ok(schema.methods[method], method);
    assert.equal(schema.methods['aid/status'].params, undefined, 'aid/status takes no params');
    for (const notification of ['aid/ask/start', 'aid/ask/delta', 'aid/ask/notice', 'aid/context/progress', 'aid/log', 'aid/alert', 'aid/pull/progress'])
      assert.ok(schema.notifications[notification], notification);
    const codes = [...Object.values(ErrorCodes), ...Object.values(JsonRpcCodes)].map(String).sort();
    assert.deepEqual(Object.keys(schema.errors).sort(), codes);
    // The drift issue 13 found: BudgetRefused's data as the daemon sends it.
    const refused = schema.definitions.BudgetRefusedData as { properties: Record<string, unknown>; required: string[] };
    assert.deepEqual(Object.keys(refused.properties).sort(), ['budget', 'costUsd', 'leftUsd', 'ref', 'sessionId', 'suggestions', 'worstUsd']);
    assert.deepEqual(schema.errors[String(ErrorCodes.BudgetRefused)].data, { $ref: '#/definitions/BudgetRefusedData' });
    assert.deepEqual((schema.definitions.FinishReason as { enum: string[] }).enum, [...FINISH_REASONS]);
    assert.deepEqual((schema.definitions.Capability as { enum: string[] }).enum, [...ALL_CAPABILITIES]);
  });
});

describe("docs/protocol.md's examples", function () {
  this.timeout(60000);
  it('every JSON-RPC message shown fits the schema: methods, params, results, notifications and error data', () => {
    const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')) as ProtocolSchema;
    const doc = fs.readFileSync(DOC_FILE, 'utf8');
    const problems: string[] = [];
    let checked = 0;
    for (const block of doc.matchAll(/```json\n([\s\S]*?)```/g)) {
      const methodOf = new Map<unknown, string>();
      for (const line of block[1].split('\n')) {
        const match = /^(→|←) (\{.*\})$/.exec(line);
        if (!match) continue;
        const message = JSON.parse(match[2]) as { id?: unknown; method?: string; params?: unknown; result?: unknown; error?: { code: number; data?: unknown } };
        const where = `${match[1]} ${line.slice(2, 90)}…`;
        const check = (value: unknown, s: Record<string, unknown> | undefined, what: string): void => {
          checked++;
          if (!s) problems.push(`${where}: the schema has no ${what}`);
          else problems.push(...schemaProblems(value, s, schema.definitions).map((p) => `${where}: ${what} ${p}`));
        };
        if (message.method && message.id !== undefined) {
          methodOf.set(message.id, message.method);
          const method = schema.methods[message.method];
          if (!method) problems.push(`${where}: no method ${message.method}`);
          else if (message.params !== undefined) check(message.params, method.params, `params of ${message.method}`);
        } else if (message.method) {
          if (message.method === '$/cancelRequest') continue;
          check(message.params, schema.notifications[message.method]?.params, `params of ${message.method}`);
        } else if (message.error) {
          const error = schema.errors[String(message.error.code)];
          if (!error) problems.push(`${where}: no error code ${message.error.code}`);
          else if (message.error.data !== undefined) check(message.error.data, error.data, `data of ${message.error.code}`);
        } else {
          const method = methodOf.get(message.id);
          check(message.result, method ? schema.methods[method]?.result : undefined, `result of ${method ?? 'an unknown request'}`);
        }
      }
    }
    assert.deepEqual(problems, []);
    // The handshake example shows everything a daemon of this build offers.
    assert.ok(doc.includes(`"capabilities":${JSON.stringify(ALL_CAPABILITIES)}`), 'the handshake example lists every capability');
    assert.ok(checked >= 20, `only ${checked} examples checked`);
  });
});
