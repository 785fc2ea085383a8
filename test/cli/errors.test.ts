import { expect } from 'chai'
import net from 'node:net'
import { startTcpProxy } from '../../tools/tcp-proxy'
import { configureBackend, redisClient } from '../support/backends'
import { testRedisUrl } from '../support/fixtures'
import { cli, cliAt, seeded } from './support'

/** Well under the 5 s a person would wait before suspecting a hang. */
const FAST_MS = 3_000

describe('cacheme errors and exit codes', () => {
  it('exits with 3 on a bad URL, before connecting', async () => {
    const word = await cli(['--redis', 'notaurl', 'tags'])
    expect(word).to.include({ code: 3, stdout: '' })
    expect(word.stderr).to.equal('cacheme: bad Redis URL "notaurl": expected redis://[[user]:password@]host[:port][/db] or rediss://...\n')
    const http = await cli(['--redis', 'http://127.0.0.1:6379', 'tags'])
    expect(http).to.include({ code: 3, stderr: 'cacheme: bad Redis URL "http://127.0.0.1:6379/": the scheme must be redis: or rediss:, not http:\n' })
  })

  it('exits with 3 at once when nothing listens, without showing the password', async () => {
    const result = await cli(['--redis', 'redis://:s3cret@127.0.0.1:1', 'tags'])
    expect(result.code).to.equal(3)
    expect(result.stderr).to.equal('cacheme: cannot reach Redis at redis://:***@127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n')
    expect(result.ms).to.be.below(FAST_MS)
  })

  it('exits with 3 within the connect timeout when Redis accepts but does not answer', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer(socket => sockets.add(socket))
    await new Promise<void>(listening => silent.listen(0, '127.0.0.1', listening))
    try {
      const { port } = silent.address() as net.AddressInfo
      const result = await cli(['--redis', `redis://127.0.0.1:${port}`, 'stats'])
      expect(result.code).to.equal(3)
      expect(result.stderr).to.equal(`cacheme: cannot reach Redis at redis://127.0.0.1:${port}: no answer within 2000 ms\n`)
      expect(result.ms).to.be.below(FAST_MS)
    } finally {
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  })

  it('exits with 3 when Redis goes away during the command, not with a count of 0', async () => {
    const prefix = await seeded()
    const { hostname, port } = new URL(testRedisUrl())
    const proxy = await startTcpProxy({ host: hostname, port: Number(port) })
    try {
      // The library reports a failed invalidation and returns 0; the command must not print that.
      const cutBeforeDeleting = (text: string) => text.includes('deleting') && proxy.cut('reset')
      const result = await cli(['--redis', proxy.url, '--prefix', prefix, 'invalidate', '--pattern', '*'], { isTTY: true, onStderr: cutBeforeDeleting })
      expect(result.code).to.equal(3)
      expect(result.stdout).to.equal('')
      expect(result.stderr).to.match(new RegExp(`cacheme: Redis at ${proxy.url} failed: Connection is closed\\. \\(.*ECONNRESET\\)\n$`))
      expect(await redisClient().exists(`${prefix}Book:1`)).to.equal(1)
    } finally {
      await proxy.close()
    }
  })

  it('exits with 2 on usage errors, and shows the help', async () => {
    const prefix = configureBackend('redis')
    const unknown = await cliAt(prefix, ['frobnicate'])
    expect(unknown).to.include({ code: 2, stdout: '' })
    expect(unknown.stderr).to.include("error: unknown command 'frobnicate'")
    expect((await cliAt(prefix, ['keys'])).stderr).to.include("error: missing required argument 'tag'")
    expect((await cliAt(prefix, ['tags', '--colour'])).code).to.equal(2)
    expect((await cli(['--prefix', 'a>b', 'tags'])).stderr).to.equal(`cacheme: prefix must be a non-empty string without '>', got "a>b"\n`)

    const bare = await cli([])
    expect(bare.code).to.equal(2)
    expect(bare.stderr).to.include('Usage: cacheme [options] [command]')

    const help = await cli(['--help'])
    expect(help).to.include({ code: 0, stderr: '' })
    expect(help.stdout).to.include('invalidate [options]')
    expect(help.stdout).to.include('3  bad Redis URL, Redis unreachable')
    expect((await cli(['help', 'inspect'])).stdout).to.include('found by scanning every set under the prefix')
  })
})
