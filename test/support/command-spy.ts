import type { Cluster, Redis } from 'ioredis'

export interface CommandSpy {
  /** The names of the commands the client sent, in order. */
  readonly commands: () => string[]
  /** The writes its socket made to the kernel: one carries every command sent together, so they are round trips. */
  readonly writes: () => number
  readonly restore: () => void
}

/**
 * Watches what a connected client sends, on the real connection: a Cluster's commands as it
 * routes them, its writes summed over every node it is connected to.
 */
export function spyOnCommands(client: Redis | Cluster): CommandSpy {
  const commands: string[] = []
  let writes = 0
  const sockets = client.isCluster ? (client as Cluster).nodes().map(node => node.stream) : [(client as Redis).stream]
  const undo = sockets.flatMap(stream => {
    const socket = stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>
    return (['_write', '_writev'] as const).map(name => {
      const original = socket[name]
      socket[name] = (...args: unknown[]) => {
        writes++
        return original.apply(socket, args)
      }
      return () => delete socket[name]
    })
  })
  // ioredis hands a command to sendCommand again when it resends it (from its offline queue, or
  // after a reconnect): it is one command all the same.
  const seen = new WeakSet<object>()
  const send = client.sendCommand.bind(client) as (...args: unknown[]) => unknown
  client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    if (!seen.has(command)) commands.push(command.name)
    seen.add(command)
    return send(command, ...rest)
  }) as typeof client.sendCommand
  return {
    commands: () => commands,
    writes: () => writes,
    restore: () => {
      undo.forEach(restore => restore())
      delete (client as { sendCommand?: unknown }).sendCommand
    },
  }
}

/** The HGETs a client sends while `fn` runs. */
export async function hgetsDuring(client: Redis | Cluster, fn: () => Promise<unknown>): Promise<number> {
  const spy = spyOnCommands(client)
  try {
    await fn()
  } finally {
    spy.restore()
  }
  return spy.commands().filter(name => name === 'hget').length
}

/** Calls per command the server ran, from INFO commandstats (Redis 7 counts the calls a script makes too). */
export async function commandStats(admin: Redis): Promise<Map<string, number>> {
  const stats = new Map<string, number>()
  for (const [, name, calls] of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(name, Number(calls))
  return stats
}
