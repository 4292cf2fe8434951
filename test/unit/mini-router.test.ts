// util/mini-router.ts on a real loopback HTTP server: routing (params, static before parameter, query
// string and fragment ignored, 404 body), HEAD twins of GET routes, reply types (text, JSON, null,
// redirects, custom content types), request bodies (JSON, text, 415, 400 on bad or empty JSON, 413
// over the limit, body parsed before the pre-handler), error replies, bad URLs (400), long parameters
// (414), and close() with an idle keep-alive connection open.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { HttpError, MiniRouter, redirect, Reply, serveRouter, type Served } from '../../src/util/mini-router.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with a 5 s deadline; `chunks` are sent one by one (chunked encoding without a content-length). */
function call(
  port: number,
  method: string,
  path: string,
  o: { headers?: Record<string, string>; body?: string; chunks?: string[]; agent?: http.Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: o.headers ?? {}, agent: o.agent ?? false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${method} ${path}: no answer within 5 s`));
    }, 5000);
    // A refused upload (413) may reset the connection after the answer was read: the answer counts.
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (o.body !== undefined) req.write(o.body);
    for (const c of o.chunks ?? []) req.write(c);
    req.end();
  });
}

const seen = { pre: 0 };
let served: Served | null = null;
let port = 0;
let router: MiniRouter;

before(async () => {
  router = new MiniRouter({
    bodyLimit: 1024,
    errorReply: (err) =>
      new Reply(err.statusCode && err.statusCode >= 400 ? err.statusCode : 500, { error: err.message }, { 'x-err': '1' }),
  });
  const deny = (): void => {
    seen.pre++;
    throw new HttpError(401, 'no');
  };
  router.get('/', () => redirect('/home'));
  router.get('/home', () => ({ hello: 'world' }));
  router.get('/null', () => null);
  router.get('/text', () => 'OK');
  router.get('/metrics', () => new Reply(200, 'm 1\n', { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }));
  router.get('/items/:id', (r) => ({ id: r.params.id, route: r.route }));
  router.get('/items/special', () => 'special');
  router.get('/a/:x/b/:y', (r) => r.params);
  router.get('/boom', () => {
    throw new Error('kaput');
  });
  router.get('/locked', () => 'never', deny);
  router.put('/echo', (r) => {
    return { body: r.body ?? null };
  });
  router.put('/locked', () => 'never', deny);
  served = await serveRouter(router, { host: '127.0.0.1', port: 0 });
  port = served.port;
});

after(async () => {
  await served?.close();
});

describe('mini router: routing', () => {
  test('parameters are decoded; a static segment wins over a parameter; query and fragment are ignored', async () => {
    const a = await call(port, 'GET', '/items/a%2Fb%20c?x=1');
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(JSON.parse(a.body), { id: 'a/b c', route: '/items/:id' });
    assert.equal((await call(port, 'GET', '/items/special')).body, 'special');
    assert.deepEqual(JSON.parse((await call(port, 'GET', '/a/1/b/2#frag')).body), { x: '1', y: '2' });
    // An empty segment is an empty parameter, as Fastify matched it.
    assert.deepEqual(JSON.parse((await call(port, 'GET', '/items/')).body), { id: '', route: '/items/:id' });
  });

  test("unknown paths and methods get Fastify's 404 body; the route table lists HEAD twins", async () => {
    for (const [m, p] of [
      ['GET', '/nope?q=1'],
      ['POST', '/home'],
      ['GET', '/home/'],
      ['GET', '/items/1/2'],
    ] as const) {
      const r = await call(port, m, p);
      assert.equal(r.status, 404, `${m} ${p}`);
      assert.deepEqual(JSON.parse(r.body), { message: `Route ${m}:${p} not found`, error: 'Not Found', statusCode: 404 });
    }
    assert.ok(router.table.some((e) => e.method === 'HEAD' && e.url === '/items/:id'));
    assert.ok(!router.table.some((e) => e.method === 'HEAD' && e.url === '/echo'));
  });

  test('HEAD answers with the GET reply headers and no body', async () => {
    const g = await call(port, 'GET', '/home');
    const h = await call(port, 'HEAD', '/home');
    assert.equal(h.status, 200);
    assert.equal(h.body, '');
    assert.equal(h.headers['content-type'], g.headers['content-type']);
    assert.equal(h.headers['content-length'], String(Buffer.byteLength(g.body)));
  });

  test('bad percent-encoding is 400, a parameter over 100 characters 414', async () => {
    const bad = await call(port, 'GET', '/items/%zz');
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.body) as { code: string }).code, 'FST_ERR_BAD_URL');
    assert.equal((await call(port, 'GET', `/items/${'a'.repeat(100)}`)).status, 200);
    assert.equal((await call(port, 'GET', `/items/${'a'.repeat(101)}`)).status, 414);
  });
});

describe('mini router: replies', () => {
  test('a string is text/plain, null is JSON, a Reply keeps its status and headers', async () => {
    const t = await call(port, 'GET', '/text');
    assert.equal(t.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(t.body, 'OK');
    const n = await call(port, 'GET', '/null');
    assert.equal(n.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(n.body, 'null');
    const r = await call(port, 'GET', '/?x=1');
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/home');
    assert.equal(r.headers['content-length'], '0');
    assert.equal(r.headers['content-type'], undefined);
    const m = await call(port, 'GET', '/metrics');
    assert.equal(m.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(m.body, 'm 1\n');
  });

  test('errors go through errorReply: thrown status, else 500; a pre-handler error stops the handler', async () => {
    const b = await call(port, 'GET', '/boom');
    assert.equal(b.status, 500);
    assert.deepEqual(JSON.parse(b.body), { error: 'kaput' });
    assert.equal(b.headers['x-err'], '1');
    const l = await call(port, 'GET', '/locked');
    assert.equal(l.status, 401);
    assert.deepEqual(JSON.parse(l.body), { error: 'no' });
  });
});

describe('mini router: request bodies', () => {
  const json = { 'content-type': 'application/json' };

  test('JSON (any parameters, any case) and text/plain bodies are parsed; no body is undefined', async () => {
    assert.deepEqual(JSON.parse((await call(port, 'PUT', '/echo', { headers: json, body: '{"a":[1]}' })).body), { body: { a: [1] } });
    const cs = { 'content-type': 'Application/JSON; charset=latin1' };
    assert.deepEqual(JSON.parse((await call(port, 'PUT', '/echo', { headers: cs, body: '[2]' })).body), { body: [2] });
    const text = { 'content-type': 'text/plain; charset=utf-8' };
    assert.deepEqual(JSON.parse((await call(port, 'PUT', '/echo', { headers: text, body: 'hi' })).body), { body: 'hi' });
    assert.deepEqual(JSON.parse((await call(port, 'PUT', '/echo')).body), { body: null });
  });

  test('other content types, and a body without one, are 415', async () => {
    for (const headers of <Record<string, string>[]>[
      { 'content-type': 'text/html' },
      { 'content-type': 'application/jsonx' },
      { 'content-type': '' },
      {},
    ]) {
      const r = await call(port, 'PUT', '/echo', { headers, body: '[]' });
      assert.equal(r.status, 415, JSON.stringify(headers));
      assert.deepEqual(JSON.parse(r.body), { error: 'Unsupported Media Type' });
    }
  });

  test('bad, empty and prototype-poisoning JSON is 400 and closes the connection', async () => {
    for (const body of ['[bad', '', '  ', '{"__proto__":{"x":1}}', '{"a":{"constructor":{"prototype":{}}}}']) {
      const r = await call(port, 'PUT', '/echo', { headers: json, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.headers.connection, 'close');
      assert.match((JSON.parse(r.body) as { error: string }).error, body === '' ? /cannot be empty/ : /not valid JSON/);
    }
  });

  test('a body over the limit is 413, announced or streamed', async () => {
    const big = 'x'.repeat(1025);
    const announced = await call(port, 'PUT', '/echo', { headers: json, body: big });
    assert.equal(announced.status, 413);
    assert.deepEqual(JSON.parse(announced.body), { error: 'Request body is too large' });
    const streamed = await call(port, 'PUT', '/echo', {
      headers: { ...json, 'transfer-encoding': 'chunked' },
      chunks: ['[', ' '.repeat(600), ' '.repeat(600), ']'],
    });
    assert.equal(streamed.status, 413);
    // Exactly the limit is accepted.
    assert.equal((await call(port, 'PUT', '/echo', { headers: json, body: `[${' '.repeat(1022)}]` })).status, 200);
  });

  test('the body is parsed before the pre-handler runs (bad JSON to a locked route is 400, not 401)', async () => {
    const before = seen.pre;
    const r = await call(port, 'PUT', '/locked', { headers: json, body: '{bad' });
    assert.equal(r.status, 400);
    assert.equal(seen.pre, before);
    assert.equal((await call(port, 'PUT', '/locked', { headers: json, body: '{}' })).status, 401);
  });
});

describe('mini router: close', () => {
  test('close() resolves with an idle keep-alive connection open, and the port stops answering', async () => {
    const r2 = new MiniRouter();
    r2.get('/x', () => 'x');
    const s = await serveRouter(r2, { host: '127.0.0.1', port: 0 });
    const agent = new http.Agent({ keepAlive: true });
    try {
      const a = await call(s.port, 'GET', '/x', { agent });
      assert.equal(a.headers.connection, 'keep-alive');
      assert.equal(a.headers['keep-alive'], 'timeout=72');
      let t: NodeJS.Timeout | undefined;
      await Promise.race([
        s.close().finally(() => clearTimeout(t)),
        new Promise((_, rej) => {
          t = setTimeout(() => rej(new Error('close() did not resolve within 5 s')), 5000);
        }),
      ]);
      await assert.rejects(call(s.port, 'GET', '/x'), /ECONNREFUSED/);
    } finally {
      agent.destroy();
      await s.close();
    }
  });
});
