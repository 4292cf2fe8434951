// The Authorization header tests send to the dashboard API and proxy admin APIs (every read that
// returns addresses needs the token): the given admin token, or the one derived from the product.
import { defaultAdminToken } from '../../src/models/auth.js';

/** `Authorization: Bearer <token>`. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** The bearer header of the product's default admin token (dashboards and proxies both accept it). */
export const productBearer = (product: string, productAuth = ''): Record<string, string> => bearer(defaultAdminToken(product, productAuth));
