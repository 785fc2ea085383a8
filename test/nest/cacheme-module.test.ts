import { Controller, Get, Injectable, Module, Param, ParseIntPipe, type DynamicModule } from '@nestjs/common'
import { ConfigModule, ConfigService } from '@nestjs/config'
import { Test, type TestingModule } from '@nestjs/testing'
import { expect } from 'chai'
import Redis from 'ioredis'
import { CachemeError, cacheme } from '../../src'
import { CachemeModule, CachemeService } from '../../src/nest'
import { redisClient } from '../support/backends'
import { testRedisUrl } from '../support/fixtures'
import { notesApp, type NotesApp } from './notes-app'

let counter = 0
/** A prefix per application, so that tests on the shared Redis never see each other's keys. */
const freshPrefix = () => `nest${process.pid}_${++counter}:`

describe('CachemeModule', () => {
  let app: TestingModule | undefined
  let notesApplication: NotesApp
  let Note: NotesApp['Note']
  let Label: NotesApp['Label']
  let NotesModule: NotesApp['NotesModule']
  let NotesService: NotesApp['NotesService']
  let LabelsModule: NotesApp['LabelsModule']
  let LabelsService: NotesApp['LabelsService']
  beforeEach(() => {
    notesApplication = notesApp()
    ;({ Note, Label, NotesModule, NotesService, LabelsModule, LabelsService } = notesApplication)
  })

  async function start(...imports: NonNullable<Parameters<typeof Test.createTestingModule>[0]['imports']>): Promise<TestingModule> {
    app = await Test.createTestingModule({ imports: [notesApplication.database(), ...imports] }).compile()
    await app.init()
    await notesApplication.seed()
    return app
  }
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  it('forRoot({ redis: url }) caches the @cacheme methods of a provider built by DI, in that Redis under the prefix', async () => {
    const prefix = freshPrefix()
    const notes = (await start(CachemeModule.forRoot({ redis: testRedisUrl(), prefix, models: [Note] }), NotesModule)).get(NotesService)
    expect(await notes.title(1)).to.equal('groceries')
    expect(await notes.title(1)).to.equal('groceries')
    expect(notes.computed).to.equal(1)
    expect(await redisClient().keys(`${prefix}*`)).to.include(`${prefix}Note:1`)
  })

  it('registers the models given to forRoot and to forFeature: a write through @nestjs/sequelize invalidates', async () => {
    const started = await start(CachemeModule.forRoot({ redis: testRedisUrl(), prefix: freshPrefix(), models: [Note] }), NotesModule, LabelsModule)
    const notes = started.get(NotesService)
    const labels = started.get(LabelsService)
    await notes.title(1)
    await notes.title(2)
    await labels.name(1)
    await notes.rename(1, 'groceries and bread')
    await Label.update({ name: 'house' }, { where: { id: 1 } })
    expect([await notes.title(1), await notes.title(2), await labels.name(1)]).to.deep.equal(['groceries and bread', 'taxes', 'house'])
    expect([notes.computed, labels.computed]).to.deep.equal([3, 2])
  })

  it('forRootAsync() takes the Redis URL from ConfigService', async () => {
    const prefix = freshPrefix()
    const config = ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ CACHE_REDIS_URL: testRedisUrl() })] })
    const started = await start(
      CachemeModule.forRootAsync({
        imports: [config],
        inject: [ConfigService],
        useFactory: (settings: ConfigService) => ({ redis: settings.getOrThrow<string>('CACHE_REDIS_URL'), prefix, models: [Note] }),
      }),
      NotesModule,
    )
    await started.get(NotesService).title(2)
    expect(await redisClient().keys(`${prefix}*`)).to.include(`${prefix}Note:2`)
    expect((await started.get(CachemeService).status()).store).to.equal('redis')
  })

  it('closes on shutdown the connection it opened, and leaves open a client the application passed', async () => {
    const name = `cacheme-nest-${process.pid}-${++counter}`
    const { hostname, port } = new URL(testRedisUrl())
    const connected = async () => ((await redisClient().client('LIST')) as string).includes(`name=${name}`)
    await start(CachemeModule.forRoot({ redis: { host: hostname, port: Number(port), connectionName: name }, prefix: freshPrefix() }))
    expect(await app!.get(CachemeService).status()).to.include({ store: 'redis', answering: true })
    expect(await connected()).to.equal(true)
    await app!.close()
    app = undefined
    expect(await connected()).to.equal(false)

    // The application's client, from a provider of its own, injected into the factory.
    const client = new Redis(testRedisUrl())
    @Module({ providers: [{ provide: 'REDIS', useValue: client }], exports: ['REDIS'] })
    class RedisModule {}
    const prefix = freshPrefix()
    const started = await start(
      CachemeModule.forRootAsync({ imports: [RedisModule], inject: ['REDIS'], useFactory: (redis: Redis) => ({ redis, prefix, models: [Note] }) }),
      NotesModule,
    )
    await started.get(NotesService).title(1)
    await started.close()
    app = undefined
    try {
      expect(client.status).to.equal('ready')
      expect(await client.exists(`${prefix}Note:1`)).to.equal(1)
    } finally {
      client.disconnect()
    }
  })

  it('with isGlobal, CachemeService is injected in modules that do not import CachemeModule', async () => {
    @Injectable()
    class Health {
      constructor(readonly cacheme: CachemeService) {}
    }
    @Module({ providers: [Health], exports: [Health] })
    class HealthModule {}
    const started = await start(CachemeModule.forRoot({ store: 'memory', isGlobal: true }), HealthModule)
    expect(await started.get(Health).cacheme.isHealthy('cache')).to.deep.equal({
      cache: { status: 'up', store: 'memory', answering: true, enabled: true, pendingInvalidations: 0 },
    })
  })

  /** GETs /squares/12 twice from an app with this controller: the same answer, computed once. */
  async function squaresTwice(controller: new () => object, computed: () => number): Promise<void> {
    @Module({ controllers: [controller] })
    class SquaresModule {}
    app = await Test.createTestingModule({ imports: [CachemeModule.forRoot({ redis: testRedisUrl(), prefix: freshPrefix() }), SquaresModule] }).compile()
    const http = app.createNestApplication()
    await http.listen(0, '127.0.0.1')
    try {
      const answers = []
      for (let i = 0; i < 2; i++) answers.push(await (await fetch(`${await http.getUrl()}/squares/12`)).json())
      expect(answers).to.deep.equal([
        { n: 12, square: 144 },
        { n: 12, square: 144 },
      ])
      expect(computed()).to.equal(1)
    } finally {
      await http.close()
      app = undefined
    }
  }

  it('on a controller handler, below @Get(), serves the route from the cache with its pipes applied', async () => {
    let computed = 0
    @Controller('squares')
    class SquaresController {
      @Get(':n')
      @cacheme({ key: c => `square:${c.n}` })
      async square(@Param('n', ParseIntPipe) n: number) {
        computed++
        return { n, square: n * n }
      }
    }
    await squaresTwice(SquaresController, () => computed)
  })

  it('on a controller handler, above @Get(), keeps the route and serves it from the cache', async () => {
    let computed = 0
    @Controller('squares')
    class SquaresAboveController {
      @cacheme({ key: c => `square:${c.n}` })
      @Get(':n')
      async square(@Param('n', ParseIntPipe) n: number) {
        computed++
        return { n, square: n * n }
      }
    }
    await squaresTwice(SquaresAboveController, () => computed)
  })

  it('refuses unknown options, a models option that holds no models and a factory that resolves to no options, naming where', async () => {
    const refused = (make: () => unknown, message: string) => expect(make).to.throw(CachemeError, message)
    refused(() => CachemeModule.forRoot({ modles: [Note] } as never), "CachemeModule.forRoot(): unknown option 'modles' (known: redis, store, prefix")
    refused(() => CachemeModule.forRoot({ models: Note } as never), 'CachemeModule.forRoot(): models must be an array of Sequelize models')
    refused(() => CachemeModule.forRoot({ isGlobal: 'yes' } as never), 'CachemeModule.forRoot(): isGlobal must be a boolean, got string')
    refused(() => CachemeModule.forFeature([{}] as never), 'CachemeModule.forFeature(): models must contain Sequelize model classes, got object')
    refused(() => CachemeModule.forRootAsync({ useFactory: 'options' } as never), 'CachemeModule.forRootAsync(): useFactory must be a function returning the options')
    const failure = (module: DynamicModule) =>
      start(module).then(
        () => expect.fail('the application started'),
        (error: Error) => error,
      )
    const resolvedToNull = await failure(CachemeModule.forRootAsync({ useFactory: () => null as never }))
    expect(resolvedToNull).to.be.instanceOf(CachemeError)
    expect(resolvedToNull.message).to.equal('CachemeModule.forRootAsync(): useFactory: it must resolve to an options object, got null')

    // configure() checks its own options; the connection opened for them is closed when it refuses them.
    const name = `cacheme-nest-refused-${process.pid}`
    const { hostname, port } = new URL(testRedisUrl())
    const refusedByConfigure = await failure(CachemeModule.forRoot({ redis: { host: hostname, port: Number(port), connectionName: name }, store: 'memory' }))
    expect(refusedByConfigure.message).to.equal("configure(): give either redis or store: 'memory', not both")
    // Long enough for a connection left open to have connected and named itself.
    await new Promise(done => setTimeout(done, 300))
    const listed = ((await redisClient().client('LIST')) as string).includes(`name=${name}`)
    expect(listed, 'the refused connection is closed').to.equal(false)
  })
})
