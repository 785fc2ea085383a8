import type { Request, Response, Router } from 'express'
import { runtime } from '../config'
import { CachemeError } from '../errors'
import { handle, loadExpress, mountPath } from '../http/express-support'
import { checkedAdminOptions, type AdminOptions } from './admin-options'
import { checkedTargets, invalidateTargets, type AdminTargets } from './admin-targets'
import { CSRF_FIELD, CsrfGuard, foreignOrigin, nonceCookie, nonceFrom } from './csrf'
import { readHistory } from './history'
import { renderPage, STYLE_HASH, type PageView } from './page'
import { summarizeTags } from './tag-summary'

const SECURITY_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': `default-src 'none'; style-src ${STYLE_HASH}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
}

/**
 * An Express router for the invalidation admin: `app.use('/admin', cachemeAdmin({ authorize }))`.
 * `GET /` shows the tags with their key counts and hit rates, a form to invalidate by pattern and
 * by tags, and the history; `POST /invalidate` runs an invalidation. Every request that `authorize`
 * does not accept is refused, and posts must carry the page's token (see csrf.ts).
 */
export function cachemeAdmin(options: AdminOptions): Router {
  const settings = checkedAdminOptions(options)
  const express = loadExpress('cachemeAdmin()')
  const guard = new CsrfGuard(settings.secret)
  const router = express.Router()

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
      let targets: AdminTargets
      try {
        targets = checkedTargets(body.pattern, tags)
      } catch (error) {
        if (!(error instanceof CachemeError)) throw error
        const chosenTags = tags.filter((tag): tag is string => typeof tag === 'string')
        return sendPage(req, res, 400, { error: error.message, pattern: typeof body.pattern === 'string' ? body.pattern : '', chosenTags })
      }
      // Recording runs the invalidation (the model's create hook), so that the row holds its count.
      const removed = settings.history
        ? (await settings.history.create({ pattern: targets.pattern, tags: [...targets.tags], who: await who(req) })).removed
        : await invalidateTargets(targets)
      res.redirect(303, `${mountPath(req)}/?removed=${removed}`)
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
    const [tags, history] = await Promise.all([summarizeTags(settings.tags), readHistory(settings.history, settings.historyLimit)])
    const page = renderPage({
      action: `${mountPath(req)}/invalidate`,
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

function refuse(res: Response, reason: string): void {
  res.status(403).type('text').send(`Forbidden: ${reason}\n`)
}
