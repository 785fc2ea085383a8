import type { Request, Response, Router } from 'express'
import type { CreationAttributes, Model, ModelStatic } from 'sequelize'
import { handle, loadExpress, mountPath } from '../http/express-support'
import type { BaseCache } from '../instance-cache/base-cache'
import { instanceId, modelName, type Pk } from '../instance-cache/row-identity'
import { bodyValues, pageOf, pkOfSegment, type WritableFields } from './request-parsing'
import { answerClientErrors, badRequest, notFound, onlyMethods } from './responses'
import { checkedRouterOptions, type CachedRouterOptions } from './router-options'

/**
 * An Express router serving a model from the instance cache:
 * `app.use('/books', cachedRouter(cache, Book, { writable: ['title'] }))`.
 *
 * - `GET /?offset=&limit=`: `{ items, offset, limit, next }`; one SQL query for the page's primary
 *   keys, then the rows from the cache (one MGET), so none more when they are cached.
 * - `GET /:pk`: the row from the cache, no SQL query when cached; 404 `{ error: 'not found' }`,
 *   400 for a malformed key.
 * - when writable, `POST /` (201), `PATCH /:pk` and `DELETE /:pk` (204) write through Sequelize;
 *   its hooks refresh the cache once the change commits, before the response is read from it.
 *
 * Validation errors answer 400 with their messages, unique and foreign key conflicts 409; other
 * errors go to the application's error handler. The router registers the model's hooks
 * (`cache.registerModels([model])`, which does nothing the second time): without them a write would
 * leave its row's entry stale.
 */
export function cachedRouter<M extends Model>(cache: BaseCache, model: ModelStatic<M>, options: CachedRouterOptions<M> = {}): Router {
  const settings = checkedRouterOptions(cache, model, options)
  const express = loadExpress('cachedRouter()')
  const router = express.Router()
  const name = modelName(model)
  const pkAttribute = model.primaryKeyAttribute
  cache.registerModels([model as unknown as ModelStatic<Model>])

  /** The rows' data in the order of `pks`, leaving out rows that no longer exist. */
  async function read(pks: readonly Pk[]): Promise<unknown[]> {
    const instances = await cache.getInstances(
      pks.map(pk => [model, pk]),
      settings.version,
    )
    return pks.flatMap(pk => {
      const found = instances.get(instanceId(name, pk))
      return found ? [settings.toResponse(found[0])] : []
    })
  }

  /** The pk of the URL, or undefined once it has answered 400. */
  function pkOf(req: Request, res: Response): Pk | undefined {
    const pk = pkOfSegment(req.params.pk, settings.parsePk)
    if (pk === undefined) badRequest(res, { error: 'malformed pk' })
    return pk
  }

  /** The body's values a write may set, or undefined once it has answered 400. */
  function valuesOf(req: Request, res: Response, writable: WritableFields): Record<string, unknown> | undefined {
    const parsed = bodyValues(req.body, model as unknown as ModelStatic<Model>, writable)
    if ('refusal' in parsed) return void badRequest(res, parsed.refusal)
    return parsed.values
  }

  router.get(
    '/',
    handle(async (req, res) => {
      const page = pageOf(req.query, settings.pageSize, settings.maxPageSize)
      if (typeof page === 'string') return badRequest(res, { error: page })
      const { offset, limit } = page
      // One more than the page: whether there is a next page, without a count query.
      const rows = (await model.findAll({
        ...settings.findOptions,
        order: settings.order,
        attributes: [pkAttribute],
        offset,
        limit: limit + 1,
        raw: true,
      })) as unknown as Record<string, Pk>[]
      // An include can repeat a row.
      const pks = [...new Set(rows.map(row => row[pkAttribute]))]
      const items = await read(pks.slice(0, limit))
      const next = pks.length > limit ? `${mountPath(req) || '/'}?offset=${offset + limit}&limit=${limit}` : null
      res.json({ items, offset, limit, next })
    }),
  )

  router.get(
    '/:pk',
    handle(async (req, res) => {
      const pk = pkOf(req, res)
      if (pk === undefined) return
      const [item] = await read([pk])
      if (item === undefined) return notFound(res)
      res.json(item)
    }),
  )

  const writable = settings.writable
  if (writable) {
    const json = express.json()

    router.post(
      '/',
      json,
      handle(async (req, res) => {
        const values = valuesOf(req, res, writable.create)
        if (!values) return
        const row = await model.create(values as CreationAttributes<M>)
        const pk = row.get(pkAttribute) as Pk
        const [item] = await read([pk])
        res
          .status(201)
          .location(`${mountPath(req)}/${encodeURIComponent(String(pk))}`)
          // null: created, but not readable through the cache (a default scope leaves it out).
          .json(item ?? null)
      }),
    )

    router.patch(
      '/:pk',
      json,
      handle(async (req, res) => {
        const pk = pkOf(req, res)
        if (pk === undefined) return
        const values = valuesOf(req, res, writable.update)
        if (!values) return
        const row = await model.findByPk(pk)
        if (!row) return notFound(res)
        // Resolves once the hooks have refreshed the entry (after the commit), so the read below is fresh.
        await row.update(values)
        const [item] = await read([pk])
        if (item === undefined) return notFound(res)
        res.json(item)
      }),
    )

    router.delete(
      '/:pk',
      handle(async (req, res) => {
        const pk = pkOf(req, res)
        if (pk === undefined) return
        const row = await model.findByPk(pk)
        if (!row) return notFound(res)
        await row.destroy()
        res.status(204).end()
      }),
    )
  }

  router.all('/', onlyMethods(writable ? 'GET, HEAD, POST' : 'GET, HEAD'))
  router.all('/:pk', onlyMethods(writable ? 'GET, HEAD, PATCH, DELETE' : 'GET, HEAD'))
  router.use(answerClientErrors)
  return router
}
