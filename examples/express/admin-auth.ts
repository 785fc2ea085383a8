import { timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, Response } from 'express'

/**
 * HTTP Basic authentication for the admin: the browser asks for the password once and sends it
 * with every request. Compare in constant time, so the password cannot be guessed from timings.
 */
export function basicAuth(user: string, password: string) {
  const expected = Buffer.from(`Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`)
  const isAdmin = (req: Request): boolean => {
    const given = Buffer.from(req.get('authorization') ?? '')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
  /** Makes the browser show its password prompt instead of a bare 403. */
  const challenge = (req: Request, res: Response, next: NextFunction): void => {
    if (isAdmin(req)) return next()
    res.set('WWW-Authenticate', 'Basic realm="cacheme admin", charset="UTF-8"').status(401).send('Authentication required\n')
  }
  return { isAdmin, challenge }
}
