// The HTTP details of the edge: media type, bounded body reading, and answers as JSON (a review or a meta/v1 Status).
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error the edge answers with an HTTP status (4xx: the caller's fault; 5xx: ours). */
export class EdgeError extends Error {
  constructor(
    readonly code: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EdgeError';
  }
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  408: 'Timeout',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** A Kubernetes meta/v1 Status, which the API server's client decodes from an error answer. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  code: number;
}

export function statusBody(code: number, message: string): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASONS[code] ?? 'Unknown', code };
}

/** Whether the request says its body is JSON (`application/json`, parameters such as charset allowed). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const mediaType = header.split(';', 1)[0]?.trim().toLowerCase();
  return mediaType === 'application/json';
}

/**
 * Reads the whole body, refusing (413) as soon as it grows past `maxBytes`. What follows the limit is drained and
 * dropped rather than buffered, so the socket survives long enough to carry the answer.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.reject(new EdgeError(413, `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.resume();
      reject(new EdgeError(413, `request body exceeds the limit of ${maxBytes} bytes`));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, Math.min(size, maxBytes))));
    req.once('error', (error) => reject(new EdgeError(400, `failed to read the request body: ${error.message}`, { cause: error })));
  });
}

/**
 * How deeply arrays and objects may nest in a request body. A Kubernetes object nests a few dozen levels (a CRD's
 * openAPIV3Schema perhaps a hundred); what lies beyond this is refused at decode time (400), before any recursive
 * code (structured clones, JSON comparison, CEL conversion) could exhaust the stack and answer 500.
 */
export const MAX_JSON_DEPTH = 512;

/**
 * The deepest nesting of arrays and objects in JSON text, counted without parsing; stops counting past `limit`.
 * Brackets inside strings (escapes included) do not count.
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = endOfString(text, i);
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      deepest = Math.max(deepest, depth);
      if (deepest > limit) return deepest;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return deepest;
}

const [QUOTE, BACKSLASH, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET] = ['"', '\\', '{', '}', '[', ']'].map((ch) => ch.charCodeAt(0)) as [number, number, number, number, number, number];

/** The index of the quote that closes the string opening at `start` (escapes skipped), or the text's end. */
function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  return text.length;
}

/** Parses JSON, answering 400 with the parser's own words on failure, and 400 for nesting beyond MAX_JSON_DEPTH. */
export function parseJson(body: Buffer, maxDepth = MAX_JSON_DEPTH): unknown {
  if (body.length === 0) throw new EdgeError(400, 'request body is empty: expected an AdmissionReview');
  const text = body.toString('utf8');
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw new EdgeError(400, `request body nests arrays and objects more than ${maxDepth} levels deep: not an AdmissionReview Suture decides on`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new EdgeError(400, `request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}

export function sendText(res: ServerResponse, code: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendStatus(res: ServerResponse, code: number, message: string): void {
  sendJson(res, code, statusBody(code, message));
}
