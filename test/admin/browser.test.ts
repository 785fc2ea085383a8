import { expect } from 'chai'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { Sequelize } from 'sequelize'
import { cacheme, cachemeTags } from '../../src'
import { defineInvalidationModel, type InvalidationModel } from '../../src/admin'
import { configureBackend } from '../support/backends'
import { createSequelize, testDatabases } from '../support/fixtures'
import { ADMIN_TOKEN, serveAdmin, type TestApp } from './admin-app'

/** Debian's package; playwright-core drives it and never downloads a browser of its own. */
const CHROMIUM = '/usr/bin/chromium'
// Without these, Chromium hangs or crashes in this machine's containers (no sandbox, no GPU, no network).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const SCREENSHOT = resolve(__dirname, '../../test-results/admin.png')
const ADMIN_USER = 'grace@example.com'

/** Cached functions of an imaginary catalogue, under the tags the page shows. */
const catalogue = {
  owner: cacheme({ key: c => `CatalogueTitle:${c.id}>owner`, tag: 'CatalogueSerializer.owner' })(async (id: number) => ({ id: id % 7 })),
  chapters: cacheme({ key: c => `CatalogueTitle:${c.id}>chapters`, tag: 'CatalogueSerializer.chapters' })(async (id: number) => id * 3),
  price: cacheme({ key: c => `CataloguePrice:${c.id}`, tag: 'CatalogueSerializer.price' })(async (id: number) => id * 100),
}

const keyCount = async (tag: string) => (await cachemeTags[tag].keys()).length

describe('invalidation admin in Chromium', function () {
  this.timeout(60_000)
  let sequelize: Sequelize
  let Invalidation: InvalidationModel
  let app: TestApp
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const pageErrors: string[] = []

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      const reason = `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`
      if (process.env.CI) throw new Error(`${reason}: the browser test must run in CI`)
      console.warn(`      skipped: ${reason}`)
      this.skip()
    }
    sequelize = createSequelize(testDatabases()[0])
    Invalidation = defineInvalidationModel(sequelize)
    app = await serveAdmin({ model: Invalidation, tags: name => name.startsWith('CatalogueSerializer.') })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  })
  after(async () => {
    await browser?.close()
    await app?.close()
    await sequelize?.close()
  })

  beforeEach(async () => {
    configureBackend('redis')
    await Invalidation.sync({ force: true })
    for (let id = 1; id <= 12; id++) await Promise.all([catalogue.owner(id), catalogue.price(id), id <= 8 ? catalogue.chapters(id) : null])
    for (let id = 1; id <= 9; id++) await catalogue.owner(id) // hits
    await Invalidation.create({ pattern: 'CatalogueSession:*', who: 'ops-bot' })
    // The test is the administrator: the header that authorize checks goes with every request.
    context = await browser.newContext({
      viewport: { width: 1100, height: 800 },
      extraHTTPHeaders: { 'x-admin-token': ADMIN_TOKEN, 'x-admin-user': ADMIN_USER },
    })
    page = await context.newPage()
    pageErrors.length = 0
    page.on('console', message => void (message.type() === 'error' && pageErrors.push(message.text())))
  })
  afterEach(() => context?.close())

  /** The cells of the tags table, row by row, as text. */
  const tagRows = () => page.$$eval('#tags tbody tr', rows => rows.map(row => [...row.querySelectorAll('td')].slice(1).map(cell => cell.textContent?.trim())))

  it('lists the tags, invalidates what the form chose, records it, and shows the history', async () => {
    const opened = await page.goto(`${app.url}/admin`)
    expect(opened?.status()).to.equal(200)
    expect(await page.title()).to.equal('cacheme admin')
    const before = await tagRows()
    expect(before.map(([name, keys]) => [name, keys])).to.deep.equal([
      ['CatalogueSerializer.chapters', '8'],
      ['CatalogueSerializer.owner', '12'],
      ['CatalogueSerializer.price', '12'],
    ])
    expect(await page.locator('#history tbody tr').count()).to.equal(1)

    await page.getByLabel('CatalogueSerializer.chapters').check()
    await page.getByLabel('Pattern').fill('CataloguePrice:1*')
    await Promise.all([page.waitForURL(/\/admin\/\?removed=/), page.getByRole('button', { name: 'Invalidate' }).click()])

    // CataloguePrice:1, :10, :11, :12 and the 8 chapter summaries.
    expect(await page.getByRole('status').textContent()).to.equal('Invalidated: 12 entries removed.')
    expect(await keyCount('CatalogueSerializer.chapters')).to.equal(0)
    expect(await keyCount('CatalogueSerializer.price')).to.equal(8)
    expect(await keyCount('CatalogueSerializer.owner')).to.equal(12)
    const after = await tagRows()
    expect(after.map(([name, keys]) => [name, keys])).to.deep.equal([
      ['CatalogueSerializer.chapters', '0'],
      ['CatalogueSerializer.owner', '12'],
      ['CatalogueSerializer.price', '8'],
    ])

    const history = await page.$$eval('#history tbody tr', rows => rows.map(row => [...row.querySelectorAll('td')].map(cell => cell.textContent?.trim())))
    expect(history).to.have.length(2)
    expect(history[0].slice(1)).to.deep.equal([ADMIN_USER, 'CataloguePrice:1*', 'CatalogueSerializer.chapters', '12'])
    expect(history[1].slice(1)).to.deep.equal(['ops-bot', 'CatalogueSession:*', '', '0'])
    expect(history[0][0]).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/)
    const rows = await Invalidation.findAll({ order: [['id', 'DESC']] })
    expect(rows[0].get({ plain: true })).to.include({ who: ADMIN_USER, pattern: 'CataloguePrice:1*', removed: 12 })

    expect(pageErrors, 'no console errors, no blocked style').to.deep.equal([])
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    expect(statSync(SCREENSHOT).size).to.be.greaterThan(10_000)
  })

  it('refuses a form that another site makes the browser submit', async () => {
    // A page on another site auto-submits a form to the admin. The browser still sends the
    // administrator's credentials (the context's header, as it would send Basic credentials).
    const attacker = 'http://attacker.test/'
    await page.route(attacker, route =>
      route.fulfill({
        contentType: 'text/html',
        body: `<form method="post" action="${app.url}/admin/invalidate"><input name="pattern" value="*"><input name="tags" value="CatalogueSerializer.owner"></form><script>document.forms[0].submit()</script>`,
      }),
    )
    const response = page.waitForResponse(`${app.url}/admin/invalidate`)
    await page.goto(attacker)
    expect((await response).status()).to.equal(403)
    expect(await page.textContent('body')).to.match(/^Forbidden: /)
    expect(await keyCount('CatalogueSerializer.owner')).to.equal(12)
    expect(await Invalidation.count()).to.equal(1)
  })
})
