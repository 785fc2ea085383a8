import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

/** The cookie holding the browser's nonce and the form field holding the signed token. */
export const CSRF_COOKIE = 'cacheme_admin_csrf'
export const CSRF_FIELD = '_csrf'

/** A page left open longer than this must be reloaded before its form is accepted. */
const TOKEN_MAX_AGE_MS = 12 * 60 * 60 * 1000

/** Shared by every admin router of the process that was given no secret. */
let processSecret: Buffer | undefined

/**
 * Cross-site request forgery protection without server-side sessions: the browser holds a random
 * nonce in a SameSite=Strict, HttpOnly cookie, and each form carries an HMAC of that nonce, the
 * user's name and the time it was issued. A forged request carries no cookie (SameSite), or one it
 * cannot sign (no secret), or, when another user's pair was planted, the wrong name.
 */
export class CsrfGuard {
  readonly #secret: Buffer

  constructor(secret?: string | Buffer) {
    this.#secret = secret === undefined ? (processSecret ??= randomBytes(32)) : Buffer.from(secret)
  }

  /** A new nonce for a browser that has none. */
  static nonce(): string {
    return randomBytes(24).toString('base64url')
  }

  /** The token for the hidden field of a page served to this nonce and user. */
  token(nonce: string, who: string, now = Date.now()): string {
    const issued = now.toString(36)
    return `${issued}.${this.#mac(nonce, who, issued)}`
  }

  /** Whether a submitted token was issued by this guard, to this nonce and user, not too long ago. */
  verify(nonce: string | undefined, who: string, token: unknown, now = Date.now()): boolean {
    if (!nonce || typeof token !== 'string') return false
    const [issued, mac, ...rest] = token.split('.')
    if (rest.length > 0 || !issued || !mac) return false
    const age = now - parseInt(issued, 36)
    if (!Number.isFinite(age) || age < 0 || age > TOKEN_MAX_AGE_MS) return false
    const expected = Buffer.from(this.#mac(nonce, who, issued))
    const given = Buffer.from(mac)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  #mac(nonce: string, who: string, issued: string): string {
    return createHmac('sha256', this.#secret)
      .update(JSON.stringify([nonce, who, issued]))
      .digest('base64url')
  }
}

/** The nonce a request's cookie holds, when it looks like one this guard made. */
export function nonceFrom(headers: IncomingHttpHeaders): string | undefined {
  for (const pair of (headers.cookie ?? '').split(';')) {
    const at = pair.indexOf('=')
    if (at !== -1 && pair.slice(0, at).trim() === CSRF_COOKIE) {
      const value = pair.slice(at + 1).trim()
      return /^[A-Za-z0-9_-]{32}$/.test(value) ? value : undefined
    }
  }
  return undefined
}

/** The Set-Cookie value that gives a browser its nonce, for this browsing session only. */
export function nonceCookie(nonce: string, secure: boolean): string {
  return `${CSRF_COOKIE}=${nonce}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`
}

/**
 * Why a state-changing request does not come from this site's own pages, or undefined when nothing
 * says so. Browsers send `Origin` (and `Sec-Fetch-Site`) with form posts; `Referer` is checked when
 * neither is there. Absent headers prove nothing either way: the token decides.
 */
export function foreignOrigin(headers: IncomingHttpHeaders, trustedOrigins: readonly string[]): string | undefined {
  const host = headers.host?.toLowerCase()
  const trusted = (url: string) => {
    try {
      const parsed = new URL(url)
      return parsed.host.toLowerCase() === host || trustedOrigins.includes(parsed.origin)
    } catch {
      return false
    }
  }
  const { origin, referer } = headers
  if (origin !== undefined) return trusted(origin) ? undefined : `the request came from origin ${origin}`
  const site = headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `the request came from a ${site} page`
  if (referer !== undefined && !trusted(referer)) return "the request came from another site's page"
  return undefined
}
