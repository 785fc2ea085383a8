import type { ModelClass } from '../options'

/**
 * A Sequelize model class as far as the instance cache needs to know it. Declared here rather than
 * taken from Sequelize, so that the package's types do not need Sequelize installed (it is an
 * optional peer); a Sequelize model fits it.
 */
export interface QueryableModel extends ModelClass {
  readonly primaryKeyAttribute: string
  readonly primaryKeyAttributes?: readonly string[]
  // Method syntax keeps the parameters bivariant, so Sequelize's generic, overloaded methods fit.
  findByPk(pk: unknown, options?: object): Promise<unknown>
  findAll(options?: object): Promise<unknown[]>
  findOne(options?: object): Promise<unknown>
  count(options?: object): Promise<unknown>
  readonly sequelize?: unknown
}

/** Sequelize `findAll` options, as a query is given them: `where`, `order`, `include`, `limit`, `offset` ... */
export interface QueryOptions {
  readonly where?: unknown
  readonly order?: unknown
  readonly include?: unknown
  readonly limit?: number
  readonly offset?: number
  readonly group?: unknown
  readonly paranoid?: boolean
  readonly [option: string]: unknown
}

export function isQueryableModel(model: unknown): model is QueryableModel {
  return typeof model === 'function' && typeof (model as { findByPk?: unknown }).findByPk === 'function'
}
