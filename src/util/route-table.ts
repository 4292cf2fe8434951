// Records every route a Fastify app registers (method and pattern, HEAD routes included), so the
// admin-API lockdown test can probe each endpoint of the dashboard API: an endpoint added later is in
// the table without anyone listing it by hand. (The proxy's admin API has no Fastify: its router,
// util/mini-router.ts, keeps its own table.)
import type { FastifyInstance } from 'fastify';

export interface RouteEntry {
  method: string;
  url: string;
}

/** Starts recording; call before any route is added. The array fills as routes are registered. */
export function trackRoutes(app: FastifyInstance): RouteEntry[] {
  const routes: RouteEntry[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) routes.push({ method: String(m), url: r.url });
  });
  return routes;
}
