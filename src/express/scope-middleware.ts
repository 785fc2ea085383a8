import type { NextFunction, Request, Response } from 'express'
import { cachemeScope } from '../scope'

/**
 * Express middleware: each request runs in its own request scope (see `cachemeScope`), so that a
 * memoized call repeated while serving it is answered from memory. Mount it after the body parsers:
 * a handler resumed by a stream's events runs in the context the stream was read in.
 * @example
 * app.use(express.json(), cachemeScopeMiddleware())
 */
export function cachemeScopeMiddleware(): (req: Request, res: Response, next: NextFunction) => void {
  return (_req, _res, next) => cachemeScope(next)
}
