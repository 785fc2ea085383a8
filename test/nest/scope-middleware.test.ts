import type { AddressInfo } from 'node:net'
import { Controller, Injectable, Module, Param, Post, type INestApplication, type MiddlewareConsumer, type NestModule } from '@nestjs/common'
import { Test } from '@nestjs/testing'
import { expect } from 'chai'
import { cacheme } from '../../src'
import { CachemeScopeMiddleware } from '../../src/nest'
import { configureBackend, redisClient } from '../support/backends'
import { hgetsDuring } from '../support/command-spy'

@Injectable()
class PostSerializer {
  @cacheme({ key: c => `Post:${c.id}>comments` })
  async comments(id: number) {
    return [`comment on ${id}`]
  }

  /** Asks for the same key twice, as a list and its latest item often do. */
  async serialize(id: number) {
    return { id, comments: await this.comments(id), latest: (await this.comments(id)).at(-1) }
  }
}

@Controller('posts')
class PostsController {
  constructor(private readonly posts: PostSerializer) {}

  @Post(':id')
  serialize(@Param('id') id: string) {
    return this.posts.serialize(Number(id))
  }
}

function appModule(scoped: boolean) {
  @Module({ controllers: [PostsController], providers: [PostSerializer] })
  class AppModule implements NestModule {
    configure(consumer: MiddlewareConsumer) {
      if (scoped) consumer.apply(CachemeScopeMiddleware).forRoutes(PostsController)
    }
  }
  return AppModule
}

describe('CachemeScopeMiddleware (cacheme/nest)', () => {
  let app: INestApplication | undefined
  let base: string

  async function start(scoped: boolean): Promise<void> {
    const moduleRef = await Test.createTestingModule({ imports: [appModule(scoped)] }).compile()
    app = moduleRef.createNestApplication({ logger: false })
    await app.listen(0, '127.0.0.1')
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
    await app.get(PostSerializer).comments(1) // cached in Redis
  }

  beforeEach(() => configureBackend('redis'))

  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  const request = () => fetch(`${base}/posts/1`, { method: 'POST' }).then(response => response.json())

  it('answers a key asked twice in one request from memory', async () => {
    await start(true)
    let body: unknown
    expect(await hgetsDuring(redisClient(), async () => (body = await request()))).to.equal(1)
    expect(body).to.deep.equal({ id: 1, comments: ['comment on 1'], latest: 'comment on 1' })
  })

  it('reads Redis for each call without it', async () => {
    await start(false)
    expect(await hgetsDuring(redisClient(), request)).to.equal(2)
  })
})
