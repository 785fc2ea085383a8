import type { NextFunction, Request, Response } from 'express'
import { CachemeError } from '../errors'

/** A route handler that may return a promise. */
export type Handler = (req: Request, res: Response, next: NextFunction) => Promise<unknown>

/** The handler as middleware that passes its rejection to the application's error handler. */
export function handle(handler: Handler): (req: Request, res: Response, next: NextFunction) => void {
  // Express 4 does not pass a rejected promise on; Express 5 does. This works with both.
  return (req, res, next) => {
    handler(req, res, next).catch(next)
  }
}

/** The router's mount path; never `//host`, which a client would take for another site. */
export function mountPath(req: Request): string {
  return req.baseUrl.replace(/^\/{2,}/, '/')
}

/**
 * Express is loaded only when a router is made: the rest of cacheme works without it.
 * `boundary` names the function that needs it, e.g. `cachedRouter()`.
 */
export function loadExpress(boundary: string): typeof import('express') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer, loaded on demand
    return require('express') as typeof import('express')
  } catch (error) {
    throw new CachemeError('INVALID_OPTIONS', `${boundary} needs Express: npm install express`, { cause: error })
  }
}
