import { expect } from 'chai'
import sinon from 'sinon'
import type { Sequelize } from 'sequelize'
import { cacheme, cachemeTags, CachemeError } from '../../src'
import { cachemeAdmin, defineInvalidationModel, type InvalidationModel } from '../../src/admin'
import { configureBackend } from '../support/backends'
import { createSequelize, testDatabases } from '../support/fixtures'
import { ADMIN_TOKEN, AUTHORIZED, fill, openAdmin, postInvalidate, serveAdmin, type TestApp } from './admin-app'

const keysOf = async (tag: string) => (await cachemeTags[tag].keys()).sort()

describe('cachemeAdmin()', () => {
  it('has no unauthenticated default: authorize is required', () => {
    for (const options of [undefined, {}, { authorize: true }, { authorize: 'admin' }]) {
      expect(() => cachemeAdmin(options as never)).to.throw(CachemeError, /authorize is required/)
    }
    expect(() => cachemeAdmin({ authorize: () => true, secret: 'short' })).to.throw(CachemeError, /secret/)
    expect(() => cachemeAdmin({ authorize: () => true, trustedOrigins: ['admin.example.com'] })).to.throw(CachemeError, /trustedOrigins/)
    expect(() => cachemeAdmin({ authorize: () => true, athorize: () => true } as never)).to.throw(CachemeError, /unknown option 'athorize'/)
  })
})

describe('invalidation admin over HTTP', () => {
  let sequelize: Sequelize
  let Invalidation: InvalidationModel
  let app: TestApp

  before(async () => {
    sequelize = createSequelize(testDatabases()[0])
    Invalidation = defineInvalidationModel(sequelize)
    app = await serveAdmin({ model: Invalidation })
  })
  after(async () => {
    await app.close()
    await sequelize.close()
  })
  beforeEach(async () => {
    configureBackend('redis')
    await Invalidation.sync({ force: true })
    await fill(3)
  })
  afterEach(() => sinon.restore())

  /** A valid form post: the page's cookie and token, from the page's own origin. */
  async function validForm(fields: [string, string][], headers: Record<string, string> = AUTHORIZED) {
    const page = await openAdmin(app, headers)
    return postInvalidate(app, [['_csrf', page.token!], ...fields], { ...headers, cookie: page.cookie, origin: app.url })
  }

  async function expectNothingInvalidated() {
    expect(await keysOf('AdminTest.owner')).to.have.length(3)
    expect(await keysOf('AdminTest.title')).to.have.length(3)
    expect(await Invalidation.count()).to.equal(0)
  }

  describe('authorization', () => {
    const refusedHeaders: [string, Record<string, string>][] = [
      ['no credentials', {}],
      ['a wrong token', { 'x-admin-token': 'guess' }],
    ]
    for (const [what, headers] of refusedHeaders) {
      it(`refuses every route with ${what}`, async () => {
        const page = await openAdmin(app) // an authorized user's valid cookie and token, stolen
        const requests = [
          fetch(`${app.url}/admin`, { headers }),
          fetch(`${app.url}/admin/`, { headers }),
          fetch(`${app.url}/admin/?removed=3`, { headers }),
          fetch(`${app.url}/admin/invalidate`, { headers }),
          fetch(`${app.url}/admin/anything/else`, { headers }),
          fetch(`${app.url}/admin/`, { method: 'HEAD', headers }),
          postInvalidate(
            app,
            [
              ['_csrf', page.token!],
              ['pattern', '*'],
            ],
            { ...headers, cookie: page.cookie, origin: app.url },
          ),
        ]
        for (const response of await Promise.all(requests)) {
          expect(response.status, response.url).to.equal(403)
          expect(response.headers.get('set-cookie')).to.equal(null)
        }
        await expectNothingInvalidated()
        expect((await fetch(`${app.url}/elsewhere`)).status).to.equal(200)
      })
    }

    it('lets in only an authorize that resolves to true', async () => {
      for (const verdict of [1, 'yes', {}, Promise.resolve(false), Promise.resolve('true')]) {
        const other = await serveAdmin({ authorize: () => verdict as boolean })
        try {
          expect((await fetch(`${other.url}/admin/`)).status, String(verdict)).to.equal(403)
        } finally {
          await other.close()
        }
      }
      const asynchronous = await serveAdmin({ authorize: async req => req.get('x-admin-token') === ADMIN_TOKEN })
      try {
        expect((await fetch(`${asynchronous.url}/admin/`, { headers: AUTHORIZED })).status).to.equal(200)
      } finally {
        await asynchronous.close()
      }
    })

    it('does not serve the page when authorize throws', async () => {
      const failing = await serveAdmin({
        authorize: () => {
          throw new Error('session store down')
        },
      })
      try {
        const response = await fetch(`${failing.url}/admin/`)
        expect(response.status).to.equal(500)
        expect(await response.text()).not.to.include('<form')
      } finally {
        await failing.close()
      }
    })
  })

  describe('cross-site request forgery', () => {
    const forgeries: [string, (page: Awaited<ReturnType<typeof openAdmin>>) => [fields: [string, string][], headers: Record<string, string>]][] = [
      ['no token', page => [[['tags', 'AdminTest.owner']], { cookie: page.cookie }]],
      [
        'no cookie',
        page => [
          [
            ['_csrf', page.token!],
            ['tags', 'AdminTest.owner'],
          ],
          {},
        ],
      ],
      [
        "another browser's cookie",
        page => [
          [
            ['_csrf', page.token!],
            ['tags', 'AdminTest.owner'],
          ],
          { cookie: 'cacheme_admin_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
        ],
      ],
      [
        'a tampered token',
        page => [
          [
            ['_csrf', `${page.token!.slice(0, -2)}xx`],
            ['tags', 'AdminTest.owner'],
          ],
          { cookie: page.cookie },
        ],
      ],
      [
        'a token issued to another user',
        page => [
          [
            ['_csrf', page.token!],
            ['tags', 'AdminTest.owner'],
          ],
          { cookie: page.cookie, 'x-admin-user': 'mallory' },
        ],
      ],
      [
        'another origin',
        page => [
          [
            ['_csrf', page.token!],
            ['tags', 'AdminTest.owner'],
          ],
          { cookie: page.cookie, origin: 'http://evil.example' },
        ],
      ],
      [
        'an opaque origin',
        page => [
          [
            ['_csrf', page.token!],
            ['tags', 'AdminTest.owner'],
          ],
          { cookie: page.cookie, origin: 'null' },
        ],
      ],
      [
        "another site's referer",
        page => [
          [
            ['_csrf', page.token!],
            ['tags', 'AdminTest.owner'],
          ],
          { cookie: page.cookie, referer: 'http://evil.example/page' },
        ],
      ],
      [
        'a cross-site fetch',
        page => [
          [
            ['_csrf', page.token!],
            ['tags', 'AdminTest.owner'],
          ],
          { cookie: page.cookie, 'sec-fetch-site': 'cross-site' },
        ],
      ],
    ]
    for (const [what, forge] of forgeries) {
      it(`refuses a post with ${what}`, async () => {
        const page = await openAdmin(app)
        const [fields, headers] = forge(page)
        const response = await postInvalidate(app, fields, { ...AUTHORIZED, ...headers })
        expect(response.status).to.equal(403)
        expect(await response.text()).to.match(/^Forbidden: /)
        await expectNothingInvalidated()
      })
    }

    it('refuses a token older than twelve hours', async () => {
      const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] })
      const page = await openAdmin(app)
      clock.tick(12 * 3600_000 + 1000)
      const response = await postInvalidate(
        app,
        [
          ['_csrf', page.token!],
          ['tags', 'AdminTest.owner'],
        ],
        { ...AUTHORIZED, cookie: page.cookie },
      )
      expect(response.status).to.equal(403)
      await expectNothingInvalidated()
    })

    it('gives the browser its nonce in an HttpOnly, SameSite=Strict session cookie, once', async () => {
      const first = await openAdmin(app)
      expect(first.setCookie).to.have.length(1)
      expect(first.setCookie[0]).to.match(/^cacheme_admin_csrf=[\w-]{32}; Path=\/; HttpOnly; SameSite=Strict$/)
      const again = await openAdmin(app, AUTHORIZED, first.cookie)
      expect(again.setCookie).to.deep.equal([])
      expect(again.token).to.be.a('string').and.not.equal('')
    })

    it('accepts a post from a trusted origin behind a proxy that rewrites Host', async () => {
      const proxied = await serveAdmin({ model: Invalidation, trustedOrigins: ['https://admin.example.com'] })
      try {
        const page = await openAdmin(proxied)
        const fields: [string, string][] = [
          ['_csrf', page.token!],
          ['tags', 'AdminTest.owner'],
        ]
        const response = await postInvalidate(proxied, fields, { ...AUTHORIZED, cookie: page.cookie, origin: 'https://admin.example.com' })
        expect(response.status).to.equal(303)
        const refused = await postInvalidate(proxied, fields, { ...AUTHORIZED, cookie: page.cookie, origin: 'https://other.example.com' })
        expect(refused.status).to.equal(403)
      } finally {
        await proxied.close()
      }
    })

    it('accepts a post without Origin or Referer when the token is valid', async () => {
      const page = await openAdmin(app)
      const response = await postInvalidate(
        app,
        [
          ['_csrf', page.token!],
          ['tags', 'AdminTest.owner'],
        ],
        { ...AUTHORIZED, cookie: page.cookie },
      )
      expect(response.status).to.equal(303)
    })
  })

  it('runs a valid post once, records it, deletes exactly what it matched, and shows it', async () => {
    const response = await validForm(
      [
        ['pattern', 'AdminVolume:2'],
        ['tags', 'AdminTest.title'],
        ['tags', 'AdminTest.title'],
      ],
      { ...AUTHORIZED, 'x-admin-user': 'grace' },
    )
    expect(response.status).to.equal(303)
    expect(response.headers.get('location')).to.equal('/admin/?removed=4')

    expect(await keysOf('AdminTest.owner')).to.deep.equal(['AdminVolume:1>owner', 'AdminVolume:3>owner'])
    expect(await keysOf('AdminTest.title')).to.deep.equal([])
    const rows = await Invalidation.findAll()
    expect(rows.map(row => ({ pattern: row.pattern, tags: row.tags, who: row.who, removed: row.removed }))).to.deep.equal([
      { pattern: 'AdminVolume:2', tags: ['AdminTest.title'], who: 'grace', removed: 4 },
    ])

    const { html } = await openAdmin(app, { ...AUTHORIZED, 'x-admin-user': 'grace' })
    const history = html.slice(html.indexOf('<table id="history">'))
    expect(history).to.include('<td>grace</td>').and.include('<code>AdminVolume:2</code>').and.include('<code>AdminTest.title</code>')
    expect(history).to.match(/<td class="number">4<\/td>/)
  })

  it('shows the notice after the redirect, and the tags with their key counts', async () => {
    const page = await fetch(`${app.url}/admin/?removed=4`, { headers: AUTHORIZED })
    const html = await page.text()
    expect(html).to.include('Invalidated: 4 entries removed.')
    const owners = /<code>AdminTest\.owner<\/code><\/label><\/td>\s*<td class="number">(\d+)<\/td>/.exec(html)
    expect(owners?.[1]).to.equal('3')
    expect(page.headers.get('content-security-policy')).to.match(/default-src 'none'; style-src 'sha256-[^']+'; form-action 'self'; frame-ancestors 'none'/)
    expect(page.headers.get('x-frame-options')).to.equal('DENY')
    expect(page.headers.get('cache-control')).to.equal('no-store')
  })

  it('answers a form with nothing to invalidate with the page and the problem, and records nothing', async () => {
    const response = await validForm([['pattern', '   ']])
    expect(response.status).to.equal(400)
    expect(await response.text())
      .to.include('give a pattern, at least one tag, or both')
      .and.include('name="_csrf"')
    await expectNothingInvalidated()
  })

  it('escapes tag names, patterns and user names everywhere on the page', async () => {
    const evil = `<script>alert("tag")</script>'&`
    await cacheme({ key: () => 'AdminEvil:1', tag: evil })(async () => 1)()
    const who = '<img src=x onerror=alert(1)>'
    const response = await validForm(
      [
        ['pattern', '<b>AdminNothing*</b>'],
        ['tags', evil],
      ],
      { ...AUTHORIZED, 'x-admin-user': who },
    )
    expect(response.status).to.equal(303)
    expect((await Invalidation.findOne({ rejectOnEmpty: true })).removed).to.equal(1)

    const { html } = await openAdmin(app, { ...AUTHORIZED, 'x-admin-user': who })
    expect(html).not.to.include('<script>').and.not.include('<img').and.not.include('<b>')
    expect(html).to.include('value="&lt;script&gt;alert(&quot;tag&quot;)&lt;/script&gt;&#39;&amp;"')
    expect(html).to.include('<code>&lt;script&gt;alert(&quot;tag&quot;)&lt;/script&gt;&#39;&amp;</code>')
    expect(html).to.include('<td>&lt;img src=x onerror=alert(1)&gt;</td>')
    expect(html).to.include('<code>&lt;b&gt;AdminNothing*&lt;/b&gt;</code>')
  })

  it('works without a model, keeping no history', async () => {
    const bare = await serveAdmin()
    try {
      const page = await openAdmin(bare)
      expect(page.html).to.include('Not recorded')
      const response = await postInvalidate(
        bare,
        [
          ['_csrf', page.token!],
          ['tags', 'AdminTest.owner'],
        ],
        { ...AUTHORIZED, cookie: page.cookie, origin: bare.url },
      )
      expect(response.headers.get('location')).to.equal('/admin/?removed=3')
      expect(await keysOf('AdminTest.owner')).to.deep.equal([])
    } finally {
      await bare.close()
    }
  })
})
