// A small HTTP router on node:http / node:https for the proxy's admin API: routes by method and path
// pattern (`:param` segments), JSON and text replies, JSON / text request bodies with a size limit.
// It exists because Fastify costs the proxy process ~20 MiB of RSS (issue 13) for ~20 routes; the
// dashboard keeps Fastify. It answers the way Fastify 5 answered with the proxy's options, because
// Codis's dashboard, codis-admin and our own clients parse those replies: a string is text/plain, any
// other value JSON; HEAD twins of GET routes; the body is parsed (application/json, text/plain, else
// 415; over the limit 413; bad JSON 400) before the pre-handler runs; unknown routes get Fastify's 404
// body; the query string and a #fragment are ignored for routing; keep-alive connections last 72 s.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { lookup } from 'node:dns/promises';
import type { AddressInfo } from 'node:net';
import type { TlsOptions } from 'node:tls';

/** One registered route (method and pattern); HEAD twins of GET routes are listed too. */
export interface RouteEntry {
  method: string;
  url: string;
}

export interface MiniRequest {
  /** As sent: HEAD for the HEAD twin of a GET route. */
  readonly method: string;
  /** As sent, query string included. */
  readonly url: string;
  /** The matched route pattern, e.g. `/api/proxy/stats/:xauth`. */
  readonly route: string;
  /** Route parameters, percent-decoded ('' when the segment is empty). */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** The client's address (the socket's remote address). */
  readonly ip: string;
  /** application/json: the parsed value; text/plain: the text; no body: undefined. */
  readonly body: unknown;
}

/** A handler's result: a Reply, a string (text/plain), or any other value (JSON); may be a promise. */
export type Handler = (req: MiniRequest) => unknown;

/** A reply with its own status and headers (a redirect, a text with another content type, ...). */
export class Reply {
  constructor(
    readonly status: number,
    /** undefined: an empty body (no content type); string: text/plain unless headers say otherwise; else JSON. */
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

export const redirect = (location: string): Reply => new Reply(302, undefined, { location });

/** An error answered with its status code (and, by the default error reply, its message). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export type ErrorWithStatus = Error & { statusCode?: number };

export interface RouterOptions {
  /** Largest request body in bytes (413 beyond). Default 1 MiB (Fastify's). */
  bodyLimit?: number;
  /** The reply to an error thrown by body parsing, a pre-handler or a handler. Default: Fastify's error body. */
  errorReply?: (err: ErrorWithStatus, req: MiniRequest) => Reply;
}

interface Route {
  method: string;
  url: string;
  /** Per segment: the static text, or null for a parameter. */
  statics: (string | null)[];
  names: (string | null)[];
  preHandler: Handler | null;
  handler: Handler;
}

/** Parameters longer than this (as sent) are refused with 414, as Fastify's maxParamLength. */
const MAX_PARAM_LENGTH = 100;
/** Methods whose request body is read (Fastify's; GET, HEAD and TRACE bodies are never read). */
const BODY_METHODS = new Set(['DELETE', 'OPTIONS', 'PATCH', 'PUT', 'POST', 'QUERY']);

const defaultErrorReply = (err: ErrorWithStatus): Reply => {
  const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
  return new Reply(status, { statusCode: status, error: http.STATUS_CODES[status] ?? 'Error', message: err.message });
};

export class MiniRouter {
  /** Every route (HEAD twins included), in registration order. */
  readonly table: RouteEntry[] = [];
  private readonly routes: Route[] = [];
  private readonly bodyLimit: number;
  private readonly errorReply: (err: ErrorWithStatus, req: MiniRequest) => Reply;
  /** Set by the server on close: later requests get 503, as Fastify's return503OnClosing. */
  closing = false;

  constructor(o: RouterOptions = {}) {
    this.bodyLimit = o.bodyLimit ?? 1024 * 1024;
    this.errorReply = o.errorReply ?? defaultErrorReply;
  }

  /** A GET route and its HEAD twin (same handlers; the reply's headers without its body). */
  get(url: string, handler: Handler, preHandler?: Handler): void {
    this.add('GET', url, handler, preHandler);
    this.add('HEAD', url, handler, preHandler);
  }

  put(url: string, handler: Handler, preHandler?: Handler): void {
    this.add('PUT', url, handler, preHandler);
  }

  add(method: string, url: string, handler: Handler, preHandler?: Handler): void {
    const segs = url.split('/');
    this.routes.push({
      method,
      url,
      statics: segs.map((s) => (s.startsWith(':') ? null : s)),
      names: segs.map((s) => (s.startsWith(':') ? s.slice(1) : null)),
      preHandler: preHandler ?? null,
      handler,
    });
    this.table.push({ method, url });
  }

  /** The request listener to give node:http / node:https. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    void this.serve(req, res);
  };

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    if (this.closing) return closingReply(res);
    const end = url.search(/[?#]/);
    const raw = (end === -1 ? url : url.slice(0, end)).split('/');
    let segs: string[];
    try {
      segs = raw.map((s) => (s.includes('%') ? decodeURIComponent(s) : s));
    } catch {
      return sendRaw(req, res, 400, {
        error: 'Bad Request',
        code: 'FST_ERR_BAD_URL',
        message: `'${url}' is not a valid url component`,
        statusCode: 400,
      });
    }
    const found = this.match(method, segs);
    const params: Record<string, string> = {};
    if (found) {
      for (let i = 0; i < segs.length; i++) {
        const name = found.names[i];
        if (name === null || name === undefined) continue;
        if ((raw[i] ?? '').length > MAX_PARAM_LENGTH)
          return sendRaw(req, res, 414, {
            error: 'Bad Request',
            code: 'FST_ERR_MAX_PARAM_LENGTH',
            message: `'${url}' is exceeding the max param length`,
            statusCode: 414,
          });
        params[name] = segs[i] ?? '';
      }
    }
    const r: { -readonly [K in keyof MiniRequest]: MiniRequest[K] } = {
      method,
      url,
      route: found?.url ?? '',
      params,
      headers: req.headers,
      ip: req.socket.remoteAddress ?? '',
      body: undefined,
    };
    try {
      if (BODY_METHODS.has(method)) {
        const body = await readBody(req, this.bodyLimit, !found);
        if (body === NO_PARSER) return sendNotFound(req, res, method, url);
        r.body = body;
      }
      if (!found) return sendNotFound(req, res, method, url);
      if (found.preHandler) await found.preHandler(r);
      const out = await found.handler(r);
      send(req, res, out instanceof Reply ? out : new Reply(200, out));
    } catch (e) {
      const err = (e instanceof Error ? e : new Error(String(e))) as ErrorWithStatus;
      let reply: Reply;
      try {
        reply = this.errorReply(err, r);
      } catch (e2) {
        reply = defaultErrorReply(e2 as Error);
      }
      if (err instanceof BodyError) reply = new Reply(reply.status, reply.body, { ...reply.headers, connection: 'close' });
      send(req, res, reply);
    }
  }

  /** The route for `method` and decoded `segs`: a static segment wins over a parameter at the first difference. */
  private match(method: string, segs: string[]): Route | null {
    let best: Route | null = null;
    for (const route of this.routes) {
      if (route.method !== method || route.statics.length !== segs.length) continue;
      if (!route.statics.every((s, i) => s === null || s === segs[i])) continue;
      if (!best || moreStatic(route, best)) best = route;
    }
    return best;
  }
}

function moreStatic(a: Route, b: Route): boolean {
  for (let i = 0; i < a.statics.length; i++) {
    const sa = a.statics[i] !== null;
    const sb = b.statics[i] !== null;
    if (sa !== sb) return sa;
  }
  return false;
}

/** Errors of reading or parsing a request body: their reply closes the connection (the client may still be sending). */
class BodyError extends HttpError {}

/** readBody's answer when no parser takes the body's content type on an unknown route (the 404 wins then). */
const NO_PARSER = Symbol('no parser');

const TYPE_NAME = /^[\w!#$%&'*+.^`|~-]+$/;
const SUBTYPE_NAME = /^[\w!#$%&'*+.^`|~-]+\s*$/;

/** `type/subtype` of a Content-Type header, lowercased, or null when it is not one. */
export function mediaType(header: string): string | null {
  const semi = header.indexOf(';');
  const mt = semi === -1 ? header : header.slice(0, semi);
  const slash = mt.indexOf('/');
  if (slash === -1) return null;
  const type = mt.slice(0, slash).trimStart().toLowerCase();
  const sub = mt
    .slice(slash + 1)
    .trimEnd()
    .toLowerCase();
  return TYPE_NAME.test(type) && SUBTYPE_NAME.test(sub) ? `${type}/${sub}` : null;
}

/** The request body: parsed JSON, text, or undefined without one; NO_PARSER (unknown routes only) or throws. */
async function readBody(req: IncomingMessage, limit: number, unknownRoute: boolean): Promise<unknown> {
  const ct = req.headers['content-type'];
  let kind: 'json' | 'text' | null = null;
  if (ct === undefined) {
    const cl = req.headers['content-length'];
    if (req.headers['transfer-encoding'] === undefined && (cl === undefined || cl === '0')) return undefined;
  } else {
    const mt = mediaType(ct);
    if (mt === null) throw new HttpError(415, 'Unsupported Media Type');
    kind = mt === 'application/json' ? 'json' : mt === 'text/plain' ? 'text' : null;
  }
  if (kind === null) {
    if (unknownRoute) return NO_PARSER;
    throw new HttpError(415, 'Unsupported Media Type');
  }
  const bytes = await readRaw(req, limit);
  const text = bytes.toString('utf8');
  if (kind === 'text') return text;
  if (bytes.length === 0) throw new BodyError(400, "Body cannot be empty when content-type is set to 'application/json'");
  return parseJsonBody(text);
}

function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers['content-length']) > limit) return Promise.reject(new BodyError(413, 'Request body is too large'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        stop();
        // The rest of the body is read and dropped; the reply closes the connection.
        req.resume();
        reject(new BodyError(413, 'Request body is too large'));
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (e: Error): void => {
      stop();
      reject(new BodyError(400, e.message));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

const INVALID_JSON = "Body is not valid JSON but content-type is set to 'application/json'";

/** JSON.parse, refusing `__proto__` keys and `constructor.prototype` (as Fastify's secure-json-parse does). */
export function parseJsonBody(text: string): unknown {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    if (!t.includes('proto') && !t.includes('constructor') && !t.includes('\\u')) return JSON.parse(t);
    return JSON.parse(t, (key, value: unknown) => {
      if (key === '__proto__') throw new Error('forbidden key');
      if (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype'))
        throw new Error('forbidden key');
      return value;
    });
  } catch {
    throw new BodyError(400, INVALID_JSON);
  }
}

function sendNotFound(req: IncomingMessage, res: ServerResponse, method: string, url: string): void {
  send(req, res, new Reply(404, { message: `Route ${method}:${url} not found`, error: 'Not Found', statusCode: 404 }));
}

/** Router-level errors (bad URL, parameter too long): JSON with `application/json` and no charset, as Fastify. */
function sendRaw(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  send(req, res, new Reply(status, JSON.stringify(body), { 'content-type': 'application/json' }));
}

function closingReply(res: ServerResponse): void {
  const body = '{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}';
  res.writeHead(503, { 'content-type': 'application/json', 'content-length': String(body.length), connection: 'close' });
  res.end(body);
}

function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...reply.headers };
  let payload: string | Buffer = '';
  if (Buffer.isBuffer(reply.body)) {
    payload = reply.body;
    headers['content-type'] ??= 'application/octet-stream';
  } else if (typeof reply.body === 'string') {
    payload = reply.body;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(reply.status, headers);
  if (req.method === 'HEAD') res.end();
  else res.end(payload);
}

export interface ServeOptions {
  /** Serve HTTPS with these options. */
  https?: TlsOptions;
  host: string;
  /** 0: a free port. */
  port: number;
}

export interface Served {
  server: http.Server;
  port: number;
  /** Stops accepting, closes idle keep-alive connections, and resolves when every connection is done. */
  close(): Promise<void>;
}

function createServer(router: MiniRouter, tls: TlsOptions | undefined): http.Server {
  const server = tls ? https.createServer(tls, router.handle) : http.createServer(router.handle);
  // Fastify's defaults: keep-alive connections idle up to 72 s, no request or socket timeout.
  server.keepAliveTimeout = 72_000;
  server.requestTimeout = 0;
  server.setTimeout(0);
  return server;
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/**
 * Listens with `router` on host:port. `localhost` is served on each of its loopback addresses (the
 * same port), as Fastify's listen did; the other addresses are best effort.
 */
export async function serveRouter(router: MiniRouter, o: ServeOptions): Promise<Served> {
  const server = createServer(router, o.https);
  const port = await listen(server, o.host, o.port);
  const extra: http.Server[] = [];
  if (o.host === 'localhost') {
    const main = (server.address() as AddressInfo).address;
    const addrs = await lookup('localhost', { all: true }).catch(() => []);
    for (const a of addrs) {
      if (a.address === main) continue;
      const s = createServer(router, o.https);
      if (
        await listen(s, a.address, port).then(
          () => true,
          () => false,
        )
      )
        extra.push(s);
    }
  }
  return {
    server,
    port,
    close: async () => {
      router.closing = true;
      await Promise.all([server, ...extra].map(closeServer));
    },
  };
}
