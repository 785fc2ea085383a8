import { gc } from '../gc'
import { EXIT } from './exit'
import { plural, type Output } from './output'
import type { Session } from './session'

/** `cacheme gc`: one gc() pass over the prefix, and what it removed. */
export async function runGc(_session: Session, out: Output): Promise<number> {
  const report = await gc()
  out.result(
    report,
    () => `examined ${plural(report.sets, 'set')}; removed ${plural(report.membersRemoved, 'dead member')} ` + `and ${plural(report.fieldsRemoved, 'expired hash field')}\n`,
  )
  return EXIT.ok
}
