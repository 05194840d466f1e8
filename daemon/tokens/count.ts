/**
 * How many tokens a text is, for every room that needs to know before a provider says: one module,
 * three documented answers for three different questions, and an exact count where a maintained
 * tokenizer exists for the model's family.
 *
 * - `estimateTokens`: the typical count — about four UTF-8 bytes a token, the average of the
 *   tokenizers of the models aid talks to on English prose and code. For figures shown to people
 *   and for charging a call the provider never reported (a cut stream).
 * - `conservativeTokens`: errs high — three and a half bytes a token, which English prose and
 *   most code stay above. For fitting things into a window (history, Ollama's num_ctx), where too
 *   many tokens is a failed or cut request and too few is only a little room left unused.
 * - `maxTokens`: a bound no tokenizer exceeds — one token per UTF-8 byte (byte-level BPE never
 *   makes more). For a hard budget's worst case, which must never be beaten by the real bill.
 *
 * `exactTokens` counts with `gpt-tokenizer` (OpenAI's o200k_base and cl100k_base encodings) for
 * OpenAI models; it loads the encoding on first use (a few hundred ms, tens of MB), so callers ask
 * for it only when an estimate is close to a limit. Other families have no maintained offline
 * tokenizer: their hosts count for us (Anthropic's and Gemini's count-tokens endpoints), or the
 * estimates above are used.
 */

/** Framing each chat message costs beyond its text (role markers, separators). */
export const MESSAGE_OVERHEAD_TOKENS = 4;

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** The typical rule's bytes a token. */
export const BYTES_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  return estimateTokensOfLength(bytes(text));
}

/** The typical rule for a text known only by its length (a file's size kept in an index). */
export function estimateTokensOfLength(length: number): number {
  return Math.ceil(length / BYTES_PER_TOKEN);
}

export function conservativeTokens(text: string): number {
  return Math.ceil(bytes(text) / 3.5);
}

export function maxTokens(text: string): number {
  return bytes(text);
}

/** A conversation's tokens by one of the rules above, with each message's framing. */
export function messagesTokens(messages: readonly { content: string }[], rule: (text: string) => number = estimateTokens): number {
  return messages.reduce((sum, m) => sum + rule(m.content) + MESSAGE_OVERHEAD_TOKENS, 0);
}

/** The byte-pair encodings gpt-tokenizer ships that OpenAI's models use. */
type Encoding = 'o200k_base' | 'cl100k_base';

/**
 * Which OpenAI encoding a model id uses, if it is an OpenAI model (also behind OpenRouter as
 * `openai/...`): GPT-4o and later, the o-series and GPT-5 use o200k_base; GPT-4 and GPT-3.5 use
 * cl100k_base.
 */
export function openaiEncoding(model: string): Encoding | undefined {
  const id = model.toLowerCase().replace(/^openai\//, '');
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o\d|chatgpt-|codex-)/.test(id)) return 'o200k_base';
  if (/^(gpt-4|gpt-3\.5)/.test(id)) return 'cl100k_base';
  return undefined;
}

interface Counter {
  countTokens(text: string): number;
}

const loaded = new Map<Encoding, Counter>();

function counter(encoding: Encoding): Counter {
  let found = loaded.get(encoding);
  if (!found) {
    // Loaded on first use only: the encodings are large, and most asks never need them.
    found = encoding === 'o200k_base' ? (require('gpt-tokenizer/encoding/o200k_base') as Counter) : (require('gpt-tokenizer/encoding/cl100k_base') as Counter);
    loaded.set(encoding, found);
  }
  return found;
}

/**
 * The exact token count of a conversation for an OpenAI model (each message's text by the model's
 * own encoding, plus the chat framing), or undefined when no tokenizer knows the model.
 */
export function exactTokens(model: string, messages: readonly { content: string }[]): number | undefined {
  const encoding = openaiEncoding(model);
  if (!encoding) return undefined;
  const tokenizer = counter(encoding);
  return messages.reduce((sum, m) => sum + tokenizer.countTokens(m.content) + MESSAGE_OVERHEAD_TOKENS, 0) + 3;
}
