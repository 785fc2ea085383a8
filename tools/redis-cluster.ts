import { execFile } from 'child_process'
import fs from 'fs'
import os from 'os'
import path from 'path'
import { findExecutable, startRedisServer, type RedisServer } from './redis-server'

export interface RedisClusterOptions {
  /** Masters, each owning an equal share of the 16384 slots. Default 3. */
  masters?: number
  /** Replicas per master (for failover). Default 0. */
  replicas?: number
  /** `cluster-node-timeout` in ms: how long a master may be silent before its replica takes over. Default 2000. */
  nodeTimeoutMs?: number
}

export interface RedisClusterNode {
  readonly host: string
  readonly port: number
  readonly server: RedisServer
}

export interface RedisCluster {
  /** Every node, masters first as created (replicas may be promoted later). */
  readonly nodes: readonly RedisClusterNode[]
  /** Where an ioredis `Cluster` starts: every node's host and port. */
  readonly startupNodes: readonly { host: string; port: number }[]
  /** Stops every node. */
  stop(): Promise<void>
}

const CLUSTER_READY_TIMEOUT_MS = 20_000

function run(binary: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: CLUSTER_READY_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${path.basename(binary)} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`))
      else resolve(stdout)
    })
  })
}

const delay = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Starts a private Redis Cluster on free loopback ports: `masters` masters (and `replicas` replicas
 * each), non-persistent, joined with `redis-cli --cluster create`. Resolves once every node says
 * `cluster_state:ok`.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const { masters = 3, replicas = 0, nodeTimeoutMs = 2000 } = options
  const cli = findExecutable('redis-cli')
  if (!cli) throw new Error('redis-cli was not found on PATH; install redis-server (apt-get install -y redis-server)')
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'cacheme-cluster-'))
  const nodes: RedisClusterNode[] = []
  const stop = async () => {
    await Promise.allSettled(nodes.map(node => node.server.stop()))
    fs.rmSync(directory, { recursive: true, force: true })
  }
  try {
    const count = masters * (1 + replicas)
    for (let i = 0; i < count; i++) {
      const server = await startRedisServer({
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(directory, `node-${i}.conf`), '--cluster-node-timeout', String(nodeTimeoutMs), '--dir', directory],
      })
      nodes.push({ host: '127.0.0.1', port: server.port, server })
    }
    const addresses = nodes.map(({ host, port }) => `${host}:${port}`)
    await run(cli, ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'])
    const deadline = Date.now() + CLUSTER_READY_TIMEOUT_MS
    for (const { port } of nodes) {
      while (!(await run(cli, ['-p', String(port), 'cluster', 'info'])).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`the cluster on ${addresses.join(', ')} did not reach cluster_state:ok within ${CLUSTER_READY_TIMEOUT_MS} ms`)
        await delay(100)
      }
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { nodes, startupNodes: nodes.map(({ host, port }) => ({ host, port })), stop }
}
