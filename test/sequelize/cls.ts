import { createNamespace } from 'cls-hooked'
import { Sequelize } from 'sequelize'

/** Runs `body` with Sequelize's CLS namespace set, as an application with `Sequelize.useCLS` does. */
export async function withCls(name: string, body: () => Promise<void>): Promise<void> {
  Sequelize.useCLS(createNamespace(name))
  try {
    await body()
  } finally {
    ;(Sequelize as unknown as { _cls?: unknown })._cls = undefined
  }
}
