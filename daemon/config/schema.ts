import cron from 'node-cron';
import { z } from 'zod';
import { PROVIDER_KINDS, type ProviderKind } from '../../protocol/hosts';
import { urlProblem } from './urls';

const BUILT_IN_HOSTS: readonly string[] = PROVIDER_KINDS;

const hostSchema = z
  .strictObject({
    provider: z.enum(PROVIDER_KINDS as [ProviderKind, ...ProviderKind[]]),
    baseUrl: z.string().min(1, 'expected a URL such as http://192.168.1.20:11434'),
    /** Name of the environment variable holding the key; keys never live in the config file. */
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
      .optional(),
  })
  // Checked here, not when hosts are built: a typo must be a config error, never a crash on reload.
  .superRefine((host, ctx) => {
    const problem = urlProblem(host.baseUrl, host.provider === 'ollama');
    if (problem) ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: problem });
  });

const cronExpression = z.string().refine((expr) => cron.validate(expr), 'expected a cron expression such as "0 9 * * *" (minute hour day month weekday)');

const rate = z.number().min(0).max(100000);
const priceOverrideSchema = z.strictObject({
  inputPerMTok: rate,
  outputPerMTok: rate,
  cacheReadPerMTok: rate.optional(),
  cacheWritePerMTok: rate.optional(),
  cacheWrite1hPerMTok: rate.optional(),
});

export const configSchema = z.strictObject({
  /** `HOST/MODEL` or bare `MODEL` used when `-m` is not given. */
  defaultModel: z.string().min(1).optional(),
  /** A system prompt put before every conversation unless an ask gives its own (`--system`). */
  systemPrompt: z.string().min(1).max(100_000).optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Extra hosts by name; the built-in ones come from the environment. */
  hosts: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'host names use letters, digits, . _ -'), hostSchema)
    .default({})
    .superRefine((hosts, ctx) => {
      for (const name of Object.keys(hosts)) {
        if (BUILT_IN_HOSTS.includes(name)) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `"${name}" is a built-in host configured from the environment; give this host another name`,
          });
        }
      }
    }),
  /** Seconds between health probes of each host. */
  healthIntervalSec: z.number().int().min(1).max(3600).default(30),
  /** Per-host deadline for a health probe or model listing, in milliseconds. */
  probeTimeoutMs: z.number().int().min(50).max(60000).default(2000),
  /** A connection that has not sent `aid/handshake` by then is closed. */
  handshakeTimeoutMs: z.number().int().min(50).max(600000).default(10000),
  /** Deadline for a provider's response headers; a stream's body is governed by idleTimeoutMs. */
  connectTimeoutMs: z.number().int().min(100).max(600000).default(30000),
  /**
   * Longest silence inside a stream, once its text has begun, before the request is abandoned.
   * Never a whole-request limit: a long answer that keeps streaming is never cut.
   */
  idleTimeoutMs: z.number().int().min(100).max(3600000).default(120000),
  /** Longest silence before the first text: time to load a model, or to think (never below idleTimeoutMs). */
  firstTokenTimeoutMs: z.number().int().min(100).max(3600000).default(300000),
  /** Longest wait a 429/529's retry-after may impose before a retry; longer ones fail at once. */
  maxRetryWaitMs: z.number().int().min(0).max(300000).default(20000),
  /** IANA time zone for days, weeks and months of spend (default: the system's). */
  timeZone: z
    .string()
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, 'expected an IANA time zone such as Europe/Paris or America/New_York')
    .optional(),
  /**
   * Your own rates (USD per million tokens) by `host/model` or `provider/model`; they win over the
   * bundled price data, e.g. for fine-tuned models or negotiated prices.
   */
  prices: z.record(z.string().regex(/^[^/]+\/.+$/, 'expected HOST/MODEL or PROVIDER/MODEL'), priceOverrideSchema).default({}),
  /**
   * When a hard budget (or --max-cost) refuses a request: `refuse` (exit 4, naming the models that
   * fit), or `downgrade` to the cheapest of them (local first), telling the user.
   */
  budgetRefusal: z.enum(['refuse', 'downgrade']).default('refuse'),
  /** Where `aic prices update` fetches the maintained price data (genai-prices' published file). */
  pricesUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Where and when budget alerts and spend reports go. */
  alerts: z
    .strictObject({
      /** How often every budget's thresholds are checked (they are also checked after each request). */
      checkCron: cronExpression.default('*/5 * * * *'),
      /** Spend reports; an empty string turns one off. */
      dailyReportCron: z.union([cronExpression, z.literal('')]).default('0 9 * * *'),
      weeklyReportCron: z.union([cronExpression, z.literal('')]).default('0 9 * * 1'),
      /** A Slack-compatible incoming webhook (`{"text": ...}` by POST), retried on failure. */
      webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
      /** Desktop notifications through notify-send, when it is installed. */
      desktop: z.boolean().default(true),
    })
    .default({ checkCron: '*/5 * * * *', dailyReportCron: '0 9 * * *', weeklyReportCron: '0 9 * * 1', desktop: true }),
  /** Project context from the intelligence engine, put before each question of aic ask and chat. */
  context: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** The most tokens of context one question gets. */
      maxTokens: z.number().int().min(0).max(1_000_000).default(8000),
      /** The share of the model's context window context may take. */
      windowShare: z.number().min(0).max(0.9).default(0.25),
      /** How long an ask waits for a project's first index before going without context. */
      waitMs: z.number().int().min(0).max(600_000).default(3000),
      /** A project unused this long stops being watched; its index is kept. */
      idleUnwatchMin: z.number().int().min(1).max(10_080).default(30),
      /** The most files (and directories) of one project indexed; past it the index is partial. */
      maxFiles: z.number().int().min(1).max(10_000_000).default(50_000),
      /** The most bytes of one project's files indexed (1 GiB); past it the index is partial. */
      maxBytes: z
        .number()
        .int()
        .min(1)
        .max(1024 ** 4)
        .default(1024 ** 3),
      /** Index /, the home directory and the directories above it when asked to (as --project-force does for one command). */
      allowBroadProjects: z.boolean().default(false),
    })
    .default({
      enabled: true,
      maxTokens: 8000,
      windowShare: 0.25,
      waitMs: 3000,
      idleUnwatchMin: 30,
      maxFiles: 50_000,
      maxBytes: 1024 ** 3,
      allowBroadProjects: false,
    }),
  ollama: z
    .strictObject({
      keepAlive: z.union([z.string(), z.number()]).optional(),
      /** A fixed context window for every Ollama request; otherwise sized to each prompt. */
      numCtx: z.number().int().min(256).max(2097152).optional(),
    })
    .default({}),
});

export type AidConfig = z.infer<typeof configSchema>;

/** Issues as "key: what was expected" lines, keys in dotted form. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(top level)';
    // A bad record key carries its own reason (e.g. the host-name rule) one level down.
    const message = issue.code === 'invalid_key' && issue.issues[0] ? issue.issues[0].message : issue.message;
    return `${key}: ${message}`;
  });
}
