// The dashboard's admin token: what operators, the admin CLI and proxies send to the dashboard API
// (in the Codis `{xauth}` path position or as `Authorization: Bearer <token>`). Unless configured
// (`admin_token`), every party derives it the same way from the product name and product_auth, so a
// proxy or the CLI that knows the product password can talk to its dashboard without more setup.
import { createHash, timingSafeEqual } from 'node:crypto';

/** First 32 hex chars of sha256("Shardis-Admin-[<product>]-[<product_auth>]"). */
export function defaultAdminToken(product: string, productAuth: string): string {
  return createHash('sha256').update(`Shardis-Admin-[${product}]-[${productAuth}]`).digest('hex').slice(0, 32);
}

/**
 * Codis 3.2's dashboard token (what codis-admin and codis-fe send): first 32 hex chars of
 * sha256("Codis-XAuth-[<product>]"). It does not depend on any secret; the dashboard accepts it only
 * with codis_compat_xauth = true.
 */
export function codisDashboardXAuth(product: string): string {
  return createHash('sha256').update(`Codis-XAuth-[${product}]`).digest('hex').slice(0, 32);
}

/**
 * Constant-time comparison of two tokens: both are hashed first, so neither the content nor the
 * length of the expected token shows in the time taken (crypto.timingSafeEqual over equal lengths).
 */
export function tokensEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y) && a.length === b.length;
}
