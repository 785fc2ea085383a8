import type { NextFunction, Request, Response, Router } from 'express'
import type { Sequelize } from 'sequelize'
import { runtime } from '../config'
import { CachemeError } from '../errors'
import { CSRF_FIELD, CsrfGuard, foreignOrigin, nonceCookie, nonceFrom } from './csrf'
import { checkedModel, defineInvalidationModel, type InvalidationModel } from './invalidation-model'
import { checkedRequest, runInvalidation, type InvalidationRequest } from './invalidation-request'
import { renderPage, STYLE_HASH, type HistoryRow, type PageView } from './page'
import { summarizeTags } from './tag-summary'

/** Lets a request in only when it resolves to `true`; anything else is refused with 403. */
export type Authorize = (req: Request) => boolean | Promise<boolean>

export interface AdminOptions {
  /** Required: there is no unauthenticated default. */
  readonly authorize: Authorize
  /** Where invalidations are recorded, as `defineInvalidationModel()` returned it. */
  readonly model?: InvalidationModel
  /** Or the Sequelize instance to define that model on. Without either, no history is kept. */
  readonly sequelize?: Sequelize
  /** The name recorded for an invalidation, and bound into the form's token. Default `'admin'`. */
  readonly who?: (req: Request) => string | Promise<string>
  /** Signs the forms' tokens; give every process behind one address the same. Default: random per process. */
  readonly secret?: string | Buffer
  /** Origins allowed to post besides the request's own host (a proxy that rewrites Host). */
  readonly trustedOrigins?: readonly string[]
  /** History rows shown, newest first. Default 50. */
  readonly historyLimit?: number
  /** Which tags the page lists. Default: every tag declared in this process. */
  readonly tags?: (name: string) => boolean
}

const OPTION_NAMES = new Set(['authorize', 'model', 'sequelize', 'who', 'secret', 'trustedOrigins', 'historyLimit', 'tags'])

const SECURITY_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': `default-src 'none'; style-src ${STYLE_HASH}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
}

type Handler = (req: Request, res: Response, next: NextFunction) => Promise<unknown>

/**
 * An Express router for the invalidation admin: `app.use('/admin', cachemeAdmin({ authorize }))`.
 * `GET /` shows the tags with their key counts and hit rates, a form to invalidate by pattern and
 * by tags, and the history; `POST /invalidate` runs an invalidation. Every request that `authorize`
 * does not accept is refused, and posts must carry the page's token (see csrf.ts).
 */
export function cachemeAdmin(options: AdminOptions): Router {
  const settings = checkedOptions(options)
  const express = loadExpress()
  const guard = new CsrfGuard(settings.secret)
  const router = express.Router()
  // Express 4 does not pass a rejected promise on; Express 5 does. This works with both.
  const handle = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => {
    handler(req, res, next).catch(next)
  }

  router.use((_req, res, next) => {
    res.set(SECURITY_HEADERS)
    next()
  })
  router.use(
    handle(async (req, res, next) => {
      if ((await settings.authorize(req)) !== true) return refuse(res, 'not authorized')
      next()
    }),
  )

  router.get(
    '/',
    handle(async (req, res) => {
      const removed = typeof req.query.removed === 'string' && /^\d{1,15}$/.test(req.query.removed) ? Number(req.query.removed) : undefined
      const notice = removed === undefined ? undefined : `Invalidated: ${removed} ${removed === 1 ? 'entry' : 'entries'} removed.`
      await sendPage(req, res, 200, { notice })
    }),
  )

  router.post(
    '/invalidate',
    express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 1000 }),
    handle(async (req, res) => {
      const foreign = foreignOrigin(req.headers, settings.trustedOrigins)
      if (foreign !== undefined) return refuse(res, foreign)
      const body = (req.body ?? {}) as Record<string, unknown>
      if (!guard.verify(nonceFrom(req.headers), await who(req), body[CSRF_FIELD])) {
        return refuse(res, 'the form has no valid token; reload the admin page and submit it again')
      }
      const tags = body.tags === undefined ? [] : ([] as unknown[]).concat(body.tags)
      let request: InvalidationRequest
      try {
        request = checkedRequest(body.pattern, tags)
      } catch (error) {
        if (!(error instanceof CachemeError)) throw error
        const chosenTags = tags.filter((tag): tag is string => typeof tag === 'string')
        return sendPage(req, res, 400, { error: error.message, pattern: typeof body.pattern === 'string' ? body.pattern : '', chosenTags })
      }
      const removed = settings.model
        ? (await settings.model.create({ pattern: request.pattern, tags: [...request.tags], who: await who(req) })).removed
        : await runInvalidation(request)
      res.redirect(303, `${base(req)}/?removed=${removed}`)
    }),
  )

  async function who(req: Request): Promise<string> {
    const name = await settings.who(req)
    return typeof name === 'string' && name !== '' ? name : 'unknown'
  }

  async function sendPage(req: Request, res: Response, status: number, extra: Partial<PageView>): Promise<void> {
    let nonce = nonceFrom(req.headers)
    if (nonce === undefined) {
      nonce = CsrfGuard.nonce()
      res.append('Set-Cookie', nonceCookie(nonce, req.secure))
    }
    const [tags, history] = await Promise.all([summarizeTags(settings.tags), loadHistory(settings.model, settings.historyLimit)])
    const page = renderPage({
      action: `${base(req)}/invalidate`,
      csrfField: CSRF_FIELD,
      csrfToken: guard.token(nonce, await who(req)),
      prefix: runtime().layout.prefix,
      tags,
      history: history.rows,
      ...extra,
      error: extra.error ?? history.error,
    })
    res.status(status).type('html').send(page)
  }

  return router
}

interface Settings {
  readonly authorize: Authorize
  readonly model: InvalidationModel | undefined
  readonly who: (req: Request) => string | Promise<string>
  readonly secret: string | Buffer | undefined
  readonly trustedOrigins: readonly string[]
  readonly historyLimit: number
  readonly tags: (name: string) => boolean
}

function checkedOptions(options: AdminOptions): Settings {
  const fail = (problem: string): never => {
    throw new CachemeError('INVALID_OPTIONS', `cachemeAdmin(): ${problem}`)
  }
  if (options === null || typeof options !== 'object') return fail('authorize is required: give an options object with an authorize function')
  for (const name of Object.keys(options)) if (!OPTION_NAMES.has(name)) fail(`unknown option '${name}' (known: ${[...OPTION_NAMES].join(', ')})`)
  const { authorize, model, sequelize, who = () => 'admin', secret, trustedOrigins = [], historyLimit = 50, tags = () => true } = options
  if (typeof authorize !== 'function') fail('authorize is required: a function (req) => boolean | Promise<boolean> that accepts administrators only')
  if (model !== undefined && sequelize !== undefined) fail('give model or sequelize, not both')
  if (typeof who !== 'function') fail('who must be a function (req) => string')
  if (secret !== undefined && !((typeof secret === 'string' || Buffer.isBuffer(secret)) && secret.length >= 16)) {
    fail('secret must be a string or Buffer of at least 16 characters')
  }
  if (!Array.isArray(trustedOrigins)) fail('trustedOrigins must be an array of origins')
  const origins = trustedOrigins.map(origin => {
    try {
      return new URL(origin).origin
    } catch {
      return fail(`trustedOrigins: ${JSON.stringify(origin)} is not an origin like https://admin.example.com`)
    }
  })
  if (typeof tags !== 'function') fail('tags must be a function (name) => boolean')
  if (!Number.isInteger(historyLimit) || historyLimit < 0) fail(`historyLimit must be a whole number >= 0, got ${String(historyLimit)}`)
  return {
    authorize,
    model: model !== undefined ? checkedModel(model) : sequelize !== undefined ? defineInvalidationModel(sequelize) : undefined,
    who,
    secret,
    trustedOrigins: origins,
    historyLimit,
    tags,
  }
}

async function loadHistory(model: InvalidationModel | undefined, limit: number): Promise<{ rows?: HistoryRow[]; error?: string }> {
  if (model === undefined) return {}
  try {
    const rows = await model.findAll({
      order: [
        ['when', 'DESC'],
        ['id', 'DESC'],
      ],
      limit,
    })
    return { rows: rows.map(row => ({ when: row.when, who: row.who, pattern: row.pattern, tags: row.tags, removed: row.removed })) }
  } catch (error) {
    return { rows: [], error: `The history could not be read: ${error instanceof Error ? error.message : String(error)}` }
  }
}

/** The router's mount path; never `//host`, which a browser would take for another site. */
function base(req: Request): string {
  return req.baseUrl.replace(/^\/{2,}/, '/')
}

function refuse(res: Response, reason: string): void {
  res.status(403).type('text').send(`Forbidden: ${reason}\n`)
}

/** Express is loaded only when an admin router is made: the rest of cacheme works without it. */
function loadExpress(): typeof import('express') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer, loaded on demand
    return require('express') as typeof import('express')
  } catch (error) {
    throw new CachemeError('INVALID_OPTIONS', 'cachemeAdmin() needs Express: npm install express', { cause: error })
  }
}
