import type { BulkCreateOptions, Model, ModelStatic, Optional, Sequelize } from 'sequelize'
import { checkedTargets, invalidateTargets } from './admin-targets'

export interface InvalidationAttributes {
  id: number
  /** A Redis glob matched inside the prefix, or null when only tags were invalidated. */
  pattern: string | null
  tags: string[]
  /** Who asked for it, as the application names them. */
  who: string
  /** Entries removed, counted when the row was created. */
  removed: number
  when: Date
}

export type InvalidationCreationAttributes = Optional<InvalidationAttributes, 'id' | 'pattern' | 'tags' | 'removed' | 'when'>

/** One recorded invalidation. */
export interface Invalidation extends Model<InvalidationAttributes, InvalidationCreationAttributes>, InvalidationAttributes {}

export type InvalidationModel = ModelStatic<Invalidation>

export interface InvalidationModelOptions {
  /**
   * The Sequelize model name.
   * @default 'Invalidation'
   * @example { modelName: 'CacheInvalidation' }
   */
  readonly modelName?: string
  /**
   * The table the history is kept in.
   * @default 'cacheme_invalidations'
   * @example { tableName: 'admin_cache_invalidations' }
   */
  readonly tableName?: string
}

/**
 * Defines (once per Sequelize instance) the model of the invalidation history, a row per recorded
 * invalidation. Creating a row runs its invalidation, before the insert, so that the row stores how
 * many entries it removed; updating a row never runs it again. The table is the application's to
 * create (`sync()` or a migration).
 */
export function defineInvalidationModel(sequelize: Sequelize, options: InvalidationModelOptions = {}): InvalidationModel {
  const { modelName = 'Invalidation', tableName = 'cacheme_invalidations' } = options
  if (sequelize.isDefined(modelName)) return sequelize.model(modelName) as InvalidationModel
  // The data types come from the application's own copy of Sequelize: cacheme does not depend on it.
  const { DataTypes } = sequelize.constructor as unknown as { DataTypes: typeof import('sequelize').DataTypes }
  const model = sequelize.define<Invalidation>(
    modelName,
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      pattern: { type: DataTypes.STRING(1024), allowNull: true },
      // JSON in a TEXT column: the same on every dialect.
      tags: {
        type: DataTypes.TEXT,
        allowNull: false,
        defaultValue: '[]',
        get(this: Invalidation) {
          const stored = this.getDataValue('tags') as unknown
          return typeof stored === 'string' ? (JSON.parse(stored) as string[]) : stored
        },
        set(this: Invalidation, value: unknown) {
          this.setDataValue('tags', JSON.stringify(value ?? []) as unknown as string[])
        },
      },
      who: { type: DataTypes.STRING, allowNull: false, validate: { notEmpty: true } },
      removed: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      when: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
    },
    {
      tableName,
      timestamps: true,
      createdAt: 'when',
      updatedAt: false,
      indexes: [{ fields: ['when'] }],
    },
  )

  // Checked here, not by a model validator: Model.update() validates its partial values too.
  const run = async (row: Invalidation): Promise<void> => {
    const targets = checkedTargets(row.pattern, row.tags)
    row.pattern = targets.pattern
    row.tags = [...targets.tags]
    row.removed = await invalidateTargets(targets)
  }
  model.addHook('beforeCreate', 'cacheme', (row: Invalidation) => run(row))
  // bulkCreate runs beforeCreate only with individualHooks; otherwise run each row here, once.
  model.addHook('beforeBulkCreate', 'cacheme', async (rows: Invalidation[], bulk: BulkCreateOptions) => {
    if (bulk.individualHooks) return
    for (const row of rows) await run(row)
  })
  return model
}
