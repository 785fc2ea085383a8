import net from 'node:net'

/**
 * How a cut looks to clients. `reset`: every connection is reset at once and new ones are reset as
 * soon as they are accepted (the server is unreachable). `blackhole`: sockets stay open but no byte
 * crosses in either direction, so clients wait for their own timeouts (a network partition).
 */
export type CutMode = 'reset' | 'blackhole'

export interface TcpProxy {
  /** redis://127.0.0.1:PORT: connect here instead of the target. */
  readonly url: string
  readonly port: number
  /** Client connections currently held open by the proxy. */
  readonly connections: number
  /** 'open' while forwarding, else the mode of the cut in force. */
  readonly state: 'open' | CutMode
  cut(mode?: CutMode): void
  /** Forwards again. Connections that lived through a blackhole are closed so clients reconnect. */
  heal(): void
  /** Closes every connection and the listening socket. */
  close(): Promise<void>
}

interface Link {
  readonly client: net.Socket
  upstream?: net.Socket
  /** Set once a blackhole swallowed bytes: the stream can never be in sync again. */
  partitioned: boolean
}

/** Destroys a socket with a TCP RST when Node can (>= 16.17), else with a FIN. */
function reset(socket: net.Socket): void {
  if (socket.destroyed) return
  if (typeof socket.resetAndDestroy === 'function' && !socket.connecting) socket.resetAndDestroy()
  else socket.destroy()
}

/** A TCP proxy on a free loopback port in front of `target`, for tests that cut the network. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const links = new Set<Link>()
  let state: 'open' | CutMode = 'open'
  let closed = false

  const drop = (link: Link): void => {
    if (!links.delete(link)) return
    link.client.destroy()
    link.upstream?.destroy()
  }

  /** Forwards `from` to `to` while the proxy is open; bytes arriving during a blackhole are lost. */
  const forward = (link: Link, from: net.Socket, to: () => net.Socket | undefined): void => {
    from.on('data', chunk => {
      const destination = to()
      if (state !== 'open' || link.partitioned || !destination) {
        link.partitioned = true
        return
      }
      if (!destination.write(chunk)) {
        from.pause()
        destination.once('drain', () => from.resume())
      }
    })
  }

  const server = net.createServer(client => {
    client.setNoDelay(true)
    if (closed || state === 'reset') return reset(client)
    const link: Link = { client, partitioned: state === 'blackhole' }
    links.add(link)
    client.on('error', () => drop(link))
    client.on('close', () => drop(link))
    forward(link, client, () => link.upstream)
    // During a blackhole the connection is accepted but never reaches the target.
    if (link.partitioned) return

    const upstream = net.connect({ host: target.host, port: target.port })
    upstream.setNoDelay(true)
    link.upstream = upstream
    forward(link, upstream, () => client)
    // Behind a partition the client must not learn that the target went away.
    const lost = () => {
      if (state === 'blackhole' || link.partitioned) {
        link.partitioned = true
        return
      }
      drop(link)
    }
    upstream.on('error', lost)
    upstream.on('close', lost)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (!address || typeof address !== 'object') throw new Error('the TCP proxy could not read its port')
  const port = address.port

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get connections() {
      return links.size
    },
    get state() {
      return state
    },
    cut(mode: CutMode = 'reset') {
      state = mode
      if (mode === 'reset') {
        for (const link of [...links]) {
          links.delete(link)
          reset(link.client)
          link.upstream?.destroy()
        }
      } else {
        for (const link of links) link.partitioned = true
      }
    },
    heal() {
      state = 'open'
      for (const link of [...links]) if (link.partitioned) drop(link)
    },
    async close() {
      closed = true
      for (const link of [...links]) drop(link)
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
