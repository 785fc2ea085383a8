/** The items by the key `keyOf` gives each, in the order of their first appearance. */
export function groupBy<T>(items: readonly T[], keyOf: (item: T, index: number) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const [index, item] of items.entries()) {
    const key = keyOf(item, index)
    const group = groups.get(key)
    if (group) group.push(item)
    else groups.set(key, [item])
  }
  return groups
}
