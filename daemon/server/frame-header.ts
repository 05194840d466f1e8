/**
 * A frame's header that cannot be trusted: the byte stream has no reliable next frame, so the
 * connection is answered once (-32700) and closed.
 */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** `Name: value`: the name an HTTP token, the colon right after it, blanks around the value allowed. */
const FIELD = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

/** More digits than this is beyond any limit, and beyond what a double holds exactly. */
const MAX_LENGTH_DIGITS = 15;

/**
 * The body length a frame's header announces (the header without its final `\r\n\r\n`). LSP's
 * base protocol, read strictly so that no two parsers can disagree on it: exactly one
 * `Content-Length` (its name in any case, no blank before the colon, digits only, at most
 * `maxBodyBytes`), at most one `Content-Type` and only with the UTF-8 charset; other fields are
 * ignored, as LSP allows.
 */
export function frameLength(header: string, maxBodyBytes: number): number {
  if (header === '') throw new FrameError('empty header: a frame starts with "Content-Length: N\\r\\n\\r\\n"');
  let length: number | undefined;
  let contentType = false;
  for (const line of header.split('\r\n')) {
    const field = FIELD.exec(line);
    if (!field) throw new FrameError(`malformed header line ${JSON.stringify(line.slice(0, 80))}: expected "Name: value"`);
    const name = field[1].toLowerCase();
    const value = field[2];
    if (name === 'content-length') {
      if (length !== undefined) throw new FrameError('more than one Content-Length header');
      if (!/^[0-9]+$/.test(value)) throw new FrameError(`Content-Length is not a number of bytes: ${JSON.stringify(value.slice(0, 40))}`);
      length = value.length > MAX_LENGTH_DIGITS ? Number.POSITIVE_INFINITY : Number(value);
      if (length > maxBodyBytes)
        throw new FrameError(`message of ${value.slice(0, 20)}${value.length > 20 ? '…' : ''} bytes exceeds the ${maxBodyBytes}-byte limit`);
    } else if (name === 'content-type') {
      if (contentType) throw new FrameError('more than one Content-Type header');
      contentType = true;
      checkCharset(value);
    }
  }
  if (length === undefined) throw new FrameError('header without Content-Length');
  return length;
}

/** Bodies are UTF-8 JSON; a Content-Type may say so (`charset=utf-8`, or `utf8` as vscode-jsonrpc writes it) or leave the charset out. */
function checkCharset(contentType: string): void {
  for (const parameter of contentType.split(';').slice(1)) {
    const [key, raw = ''] = parameter.split('=', 2).map((part) => part.trim());
    if (key.toLowerCase() !== 'charset') continue;
    const charset = raw.replace(/^"(.*)"$/, '$1').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') throw new FrameError(`unsupported charset ${JSON.stringify(charset.slice(0, 40))}: messages are UTF-8`);
  }
}
