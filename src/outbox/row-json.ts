import type { Model, ModelStatic } from 'sequelize'
import { internalsOf } from '../sequelize/sequelize-internals'

/** A row's column values, for a job an outbox keeps (JSON turns its dates into strings). */
export function rowValues(model: ModelStatic<Model>, row: Model): Record<string, unknown> {
  return Object.fromEntries(Object.keys(internalsOf(model).tableAttributes).map(name => [name, row.getDataValue(name)]))
}

/** The row again, from its values after a trip through JSON: dates revived, built as a query builds a loaded row. */
export function rowFromValues(model: ModelStatic<Model>, values: Readonly<Record<string, unknown>>): Model {
  const revived: Record<string, unknown> = { ...values }
  for (const [name, attribute] of Object.entries(model.getAttributes())) {
    const value = revived[name]
    if (typeof value === 'string' && (attribute.type as { key?: string } | undefined)?.key === 'DATE') revived[name] = new Date(value)
  }
  return model.build(revived, { isNewRecord: false, raw: true })
}
