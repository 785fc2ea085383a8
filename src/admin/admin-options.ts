import type { Request } from 'express'
import type { Sequelize } from 'sequelize'
import { OptionChecks } from '../option-checks'
import { defineInvalidationModel, type InvalidationModel } from './invalidation-model'

/** Lets a request in only when it resolves to `true`; anything else is refused with 403. */
export type Authorize = (req: Request) => boolean | Promise<boolean>

export interface AdminOptions {
  /**
   * Who may use the admin. Required: there is no unauthenticated default.
   * @default none (required)
   * @example { authorize: req => req.session?.user?.role === 'admin' }
   */
  readonly authorize: Authorize
  /**
   * Where invalidations are recorded, as `defineInvalidationModel()` returned it.
   * @default none: no history is kept unless `sequelize` is given
   * @example { model: defineInvalidationModel(sequelize, { tableName: 'cache_history' }) }
   */
  readonly model?: InvalidationModel
  /**
   * Or the Sequelize instance to define that model on (`defineInvalidationModel(sequelize)`).
   * @default none: no history is kept unless `model` is given
   * @example { sequelize }
   */
  readonly sequelize?: Sequelize
  /**
   * The name recorded for an invalidation, and bound into the form's token.
   * @default () => 'admin'
   * @example { who: req => req.session.user.email }
   */
  readonly who?: (req: Request) => string | Promise<string>
  /**
   * Signs the forms' tokens (16 characters or more); give every process behind one address the same.
   * @default random, per process
   * @example { secret: process.env.ADMIN_SECRET }
   */
  readonly secret?: string | Buffer
  /**
   * Origins allowed to post besides the request's own host (a proxy that rewrites Host).
   * @default []
   * @example { trustedOrigins: ['https://admin.example.com'] }
   */
  readonly trustedOrigins?: readonly string[]
  /**
   * History rows shown, newest first.
   * @default 50
   * @example { historyLimit: 200 }
   */
  readonly historyLimit?: number
  /**
   * Which tags the page lists.
   * @default every tag declared in this process
   * @example { tags: name => !name.startsWith('internal:') }
   */
  readonly tags?: (name: string) => boolean
}

const OPTION_NAMES = ['authorize', 'model', 'sequelize', 'who', 'secret', 'trustedOrigins', 'historyLimit', 'tags']

/** The options checked, with their defaults. */
export interface AdminSettings {
  readonly authorize: Authorize
  /** The invalidation history; undefined when none is kept. */
  readonly history: InvalidationModel | undefined
  readonly who: (req: Request) => string | Promise<string>
  readonly secret: string | Buffer | undefined
  readonly trustedOrigins: readonly string[]
  readonly historyLimit: number
  readonly tags: (name: string) => boolean
}

export function checkedAdminOptions(options: AdminOptions): AdminSettings {
  const checks = new OptionChecks('cachemeAdmin()')
  const given = checks.object(options, OPTION_NAMES, 'authorize is required: give an options object with an authorize function')
  const { authorize, model, sequelize, secret, trustedOrigins = [], historyLimit = 50 } = given
  if (typeof authorize !== 'function') checks.fail('authorize is required: a function (req) => boolean | Promise<boolean> that accepts administrators only')
  if (model !== undefined && sequelize !== undefined) checks.fail('give model or sequelize, not both')
  const who = checks.optionalFunction('who', given.who, '(req) => string') ?? (() => 'admin')
  if (secret !== undefined && !((typeof secret === 'string' || Buffer.isBuffer(secret)) && secret.length >= 16)) {
    checks.fail('secret must be a string or Buffer of at least 16 characters')
  }
  if (!Array.isArray(trustedOrigins)) checks.fail('trustedOrigins must be an array of origins')
  const origins = trustedOrigins.map(origin => {
    try {
      return new URL(origin).origin
    } catch {
      return checks.fail(`trustedOrigins: ${JSON.stringify(origin)} is not an origin like https://admin.example.com`)
    }
  })
  const tags = checks.optionalFunction('tags', given.tags, '(name) => boolean') ?? (() => true)
  checks.wholeNumber('historyLimit', historyLimit, 0)
  return {
    authorize,
    history: model !== undefined ? checkedHistoryModel(model, checks) : sequelize !== undefined ? defineInvalidationModel(sequelize) : undefined,
    who,
    secret,
    trustedOrigins: origins,
    historyLimit,
    tags,
  }
}

/** The model of the history a router was given, checked. */
function checkedHistoryModel(model: unknown, checks: OptionChecks): InvalidationModel {
  const candidate = model as { create?: unknown; findAll?: unknown }
  if (typeof model !== 'function' || typeof candidate.create !== 'function' || typeof candidate.findAll !== 'function') {
    checks.fail('model must be the model defineInvalidationModel() returned')
  }
  return model as InvalidationModel
}
