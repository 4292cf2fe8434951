// Owns coordinator path names: validation of store paths, and the Codis 3.2 layout
// (`pkg/models/store.go`) so an existing Codis deployment's metadata is read and written in place:
//   /codis3/<product>/topom                 the dashboard lock (Topom record)
//   /codis3/<product>/slots/slot-%04d       SlotMapping (absent = offline)
//   /codis3/<product>/group/group-%04d      Group
//   /codis3/<product>/proxy/proxy-<token>   Proxy
//   /codis3/<product>/sentinel              Sentinel
//   /jodis/<product>/proxy-<token>          jodis registration (ephemeral)
import { StoreError } from './store-error.js';

export const CODIS_ROOT = '/codis3';
export const JODIS_ROOT = '/jodis';

/** Codis's product-name rule (`models.ValidateProduct`): a word character, then word chars, '.' or '-'. */
const PRODUCT_RE = /^\w[\w.-]*$/;

export function isValidProductName(name: string): boolean {
  return PRODUCT_RE.test(name);
}

function product(name: string): string {
  if (!isValidProductName(name)) {
    throw new StoreError('BAD_PATH', `invalid product name "${name}" (use letters, digits, '_', '.', '-'; not starting with '.' or '-')`);
  }
  return name;
}

function pad4(n: number, what: string): string {
  if (!Number.isInteger(n) || n < 0) throw new StoreError('BAD_PATH', `invalid ${what} id ${n}`);
  return String(n).padStart(4, '0');
}

function token(t: string): string {
  if (!/^[^/\s\0]+$/.test(t)) throw new StoreError('BAD_PATH', `invalid proxy token "${t}"`);
  return t;
}

export const productPath = (p: string): string => `${CODIS_ROOT}/${product(p)}`;
export const topomPath = (p: string): string => `${productPath(p)}/topom`;
export const slotsDir = (p: string): string => `${productPath(p)}/slots`;
export const slotPath = (p: string, slotId: number): string => `${slotsDir(p)}/slot-${pad4(slotId, 'slot')}`;
export const groupDir = (p: string): string => `${productPath(p)}/group`;
export const groupPath = (p: string, groupId: number): string => `${groupDir(p)}/group-${pad4(groupId, 'group')}`;
export const proxyDir = (p: string): string => `${productPath(p)}/proxy`;
export const proxyPath = (p: string, proxyToken: string): string => `${proxyDir(p)}/proxy-${token(proxyToken)}`;
export const sentinelPath = (p: string): string => `${productPath(p)}/sentinel`;
export const jodisDir = (p: string): string => `${JODIS_ROOT}/${product(p)}`;
export const jodisPath = (p: string, proxyToken: string): string => `${jodisDir(p)}/proxy-${token(proxyToken)}`;

/** The numeric id in `.../slot-0042` or `.../group-0007`, or null if `path` is not such a node. */
export function idFromPath(path: string): number | null {
  const m = /^(?:slot|group)-(\d+)$/.exec(baseName(path));
  return m ? Number(m[1]) : null;
}

/** The token in `.../proxy-<token>`, or null. */
export function proxyTokenFromPath(path: string): string | null {
  const b = baseName(path);
  return b.startsWith('proxy-') && b.length > 6 ? b.slice(6) : null;
}

/** Product names found under `/codis3` (what `codis-admin --dashboard-list` and codis-fe show), sorted. */
export async function listProducts(store: { list(path: string): Promise<string[]> }): Promise<string[]> {
  const children = await store.list(CODIS_ROOT);
  return children.map(baseName).filter(isValidProductName).sort();
}

// ---- generic path helpers -------------------------------------------------------------------------

/**
 * Throws StoreError 'BAD_PATH' unless `path` is absolute and normalised: starts with '/', no empty,
 * '.' or '..' segments, no trailing '/', no control characters. '/' itself is accepted only when
 * `allowRoot` (list/watch of the whole tree).
 */
export function validatePath(path: string, allowRoot = false): void {
  const bad = (why: string): never => {
    throw new StoreError('BAD_PATH', `invalid coordinator path ${JSON.stringify(path)}: ${why}`, undefined, path);
  };
  if (typeof path !== 'string' || !path.startsWith('/')) bad('must start with "/"');
  if (path === '/') {
    if (!allowRoot) bad('"/" cannot hold data');
    return;
  }
  if (path.length > 1024) bad('longer than 1024 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) bad('contains control characters');
  const segs = path.slice(1).split('/');
  for (const s of segs) {
    if (s === '') bad('empty segment or trailing "/"');
    if (s === '.' || s === '..') bad('"." and ".." are not allowed');
  }
}

/** Path segments without the leading '/': `/a/b` → ['a', 'b'], `/` → []. */
export function segments(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** `/a/b` → `/a`, `/a` → `/`, `/` → null. */
export function parentPath(path: string): string | null {
  if (path === '/') return null;
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}
