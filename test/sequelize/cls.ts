import { createNamespace, getNamespace } from 'cls-hooked'
import { Sequelize } from 'sequelize'

/**
 * Runs `body` with Sequelize's CLS namespace set, as an application with `Sequelize.useCLS` does.
 * One namespace per name for the whole run: each cls-hooked namespace enables an async hook that
 * is never disabled, and a new one per test would slow every later promise of the suite.
 */
export async function withCls(name: string, body: () => Promise<void>): Promise<void> {
  Sequelize.useCLS(getNamespace(name) ?? createNamespace(name))
  try {
    await body()
  } finally {
    ;(Sequelize as unknown as { _cls?: unknown })._cls = undefined
  }
}
