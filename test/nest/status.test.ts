import { Test, type TestingModule } from '@nestjs/testing'
import { expect } from 'chai'
import { CachemeModule, CachemeService } from '../../src/nest'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'
import { notesApp } from './notes-app'

describe('CachemeService status and health', () => {
  let server: RedisServer
  let app: TestingModule

  // A Redis of its own, to stop and start again.
  beforeEach(async () => {
    server = await startRedisServer()
  })
  afterEach(async () => {
    await app?.close()
    await server.stop()
  })

  it('says whether Redis answers, how fast, and how many invalidations wait for it while it does not', async () => {
    const notes = notesApp()
    app = await Test.createTestingModule({
      imports: [notes.database(), CachemeModule.forRoot({ redis: server.url, prefix: 'status:', models: [notes.Note], onError: () => {} }), notes.NotesModule],
    }).compile()
    await app.init()
    await notes.seed()
    const cacheme = app.get(CachemeService)
    const up = await cacheme.status()
    expect(up).to.include({ store: 'redis', enabled: true, answering: true, pendingInvalidations: 0 })
    expect(up.latencyMs).to.be.a('number').within(0, 1000)

    await server.stop()
    await app.get(notes.NotesService).rename(1, 'written while Redis was down')
    const down = await cacheme.isHealthy()
    expect(down.cacheme).to.include({ status: 'down', store: 'redis', answering: false, pendingInvalidations: 1 })
    expect(down.cacheme.error).to.be.a('string')

    // Once Redis is back, the queue is delivered.
    await server.restart()
    let healthy = await cacheme.isHealthy('redis-cache')
    for (let tries = 0; tries < 50 && healthy['redis-cache'].pendingInvalidations > 0; tries++) {
      await new Promise(done => setTimeout(done, 100))
      healthy = await cacheme.isHealthy('redis-cache')
    }
    expect(healthy['redis-cache']).to.include({ status: 'up', answering: true, pendingInvalidations: 0 })
  })

  it('reports the memory store up, and a disabled cache as disabled', async () => {
    app = await Test.createTestingModule({ imports: [CachemeModule.forRoot({ store: 'memory', enabled: false })] }).compile()
    await app.init()
    expect(await app.get(CachemeService).status()).to.deep.equal({ store: 'memory', enabled: false, answering: true, pendingInvalidations: 0 })
  })
})
