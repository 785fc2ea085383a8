import calculateSlot from 'cluster-key-slot'

/** Redis Cluster's key space: every key hashes (CRC16) into one of these slots. */
export const SLOT_COUNT = 16384

export const slotOf = (key: string): number => calculateSlot(key)

/** Items grouped by the slot of the key each names, in their first order within a group. */
export function groupBySlot<T>(items: readonly T[], keyOf: (item: T) => string): Map<number, T[]> {
  const groups = new Map<number, T[]>()
  for (const item of items) {
    const slot = slotOf(keyOf(item))
    const group = groups.get(slot)
    if (group) group.push(item)
    else groups.set(slot, [item])
  }
  return groups
}

let tags: string[] | undefined

/**
 * A short string per slot that hashes into it: `{<tag>}` puts a name in that slot. Found once by
 * trying base-36 numbers in turn (about 160,000 CRC16s, a few tens of milliseconds).
 */
export function slotTags(): readonly string[] {
  if (tags) return tags
  const found = new Array<string>(SLOT_COUNT)
  let missing = SLOT_COUNT
  for (let i = 0; missing > 0; i++) {
    const tag = i.toString(36)
    const slot = calculateSlot(tag)
    if (found[slot] === undefined) {
      found[slot] = tag
      missing--
    }
  }
  tags = found
  return found
}

/** The tag of a slot (see slotTags). */
export const slotTag = (slot: number): string => slotTags()[slot]
