// A small JSON-over-HTTP client on node:http (not fetch: fetch refuses some ports, e.g. 6666, and
// hides the socket error). One deadline covers connect, request and the whole reply. Network
// failures throw HttpCallError with kind 'unreachable' or 'timeout' and the socket's own message.
// `https://HOST:PORT` addresses are called over TLS (certificates checked against the system CAs and
// NODE_EXTRA_CA_CERTS), `HOST:PORT` and `http://HOST:PORT` over plain HTTP.
import http from 'node:http';
import https from 'node:https';
import { parseAddr } from './address.js';

export class HttpCallError extends Error {
  override readonly name = 'HttpCallError';
  constructor(
    readonly kind: 'unreachable' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

export interface HttpReply {
  status: number;
  text: string;
  /** The parsed body, or the text when it is not JSON. */
  json: unknown;
}

export function httpJson(
  method: 'GET' | 'PUT',
  addr: string,
  path: string,
  o: { timeoutMs: number; body?: unknown; headers?: Record<string, string>; /** CA for https:// (default: the system CAs). */ ca?: Buffer },
): Promise<HttpReply> {
  let host: string, port: number;
  const secure = /^https:\/\//i.test(addr);
  try {
    ({ host, port } = parseAddr(addr.replace(/^https?:\/\//i, '').replace(/\/$/, '')));
  } catch (e) {
    return Promise.reject(new HttpCallError('unreachable', (e as Error).message));
  }
  const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null, v?: HttpReply): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(v!);
    };
    const req = (secure ? https : http).request(
      {
        host,
        port,
        path,
        method,
        agent: false,
        ...(secure && o.ca ? { ca: o.ca } : {}),
        headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}), ...o.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => finish(new HttpCallError('unreachable', e.message)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = text;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            /* not JSON */
          }
          finish(null, { status: res.statusCode ?? 0, text, json });
        });
      },
    );
    const timer = setTimeout(() => finish(new HttpCallError('timeout', `no answer within ${o.timeoutMs} ms`)), o.timeoutMs);
    req.on('error', (e) => finish(new HttpCallError('unreachable', e.message)));
    req.end(payload);
  });
}

/** The `error` field of a JSON error reply, or the start of the text. */
export function replyError(r: HttpReply): string {
  const j = r.json;
  if (typeof j === 'object' && j !== null && 'error' in j) return String((j as { error: unknown }).error);
  return r.text.slice(0, 200) || `HTTP ${r.status}`;
}
