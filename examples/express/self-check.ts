/** A request sequence that shows what the app does, and fails loudly when it does not. */
export async function selfCheck(base: string, user: string, password: string, log: (line: string) => void): Promise<void> {
  const basic = { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` }
  const check = (ok: boolean, problem: string) => {
    if (!ok) throw new Error(`self-check failed: ${problem}`)
  }
  const row = (request: string, outcome: string) => log(`  ${request.padEnd(36)}${outcome}`)
  const hitsAndMisses = async () => {
    const text = await (await fetch(`${base}/metrics`)).text()
    const total = (name: string) => [...text.matchAll(new RegExp(`^${name}\\{tag="BookSerializer\\.[a-z]+"\\} (\\d+)$`, 'gm'))].reduce((sum, match) => sum + Number(match[1]), 0)
    return { hits: total('cacheme_hits_total'), misses: total('cacheme_misses_total') }
  }

  log('self-check:')
  const cold = await fetch(`${base}/books`)
  const books = (await cold.json()) as { id: number; author: { name: string } }[]
  check(cold.status === 200 && books.length === 6, `GET /books answered ${cold.status} with ${books.length} books`)
  const afterCold = await hitsAndMisses()
  row('GET /books (cold)', `${cold.status}, ${books.length} books; ${afterCold.misses} misses, ${afterCold.hits} hits`)
  check(afterCold.misses === 12 && afterCold.hits === 0, 'a cold catalogue should compute all 12 parts')

  const warm = await fetch(`${base}/books`)
  await warm.json()
  const afterWarm = await hitsAndMisses()
  row('GET /books (warm)', `${warm.status}; ${afterWarm.hits - afterCold.hits} hits, ${afterWarm.misses - afterCold.misses} misses`)
  check(afterWarm.hits - afterCold.hits === 12 && afterWarm.misses === afterCold.misses, 'a warm catalogue should be served from the cache')

  const renamed = await fetch(`${base}/authors/1`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ursula K. Le Guin' }) })
  row('PATCH /authors/1', `${renamed.status}, renamed to "${((await renamed.json()) as { name: string }).name}"`)
  const book = (await (await fetch(`${base}/books/2`)).json()) as { author: { name: string } }
  row('GET /books/2', `author "${book.author.name}" (its cached entry was invalidated)`)
  check(book.author.name === 'Ursula K. Le Guin', 'the renamed author should be served at once')

  const metrics = await fetch(`${base}/metrics`)
  const sample = /^cacheme_hits_total\{tag="BookSerializer\.author"\} \d+$/m.exec(await metrics.text())?.[0]
  row('GET /metrics', `${metrics.status}, ${sample}`)
  check(metrics.status === 200 && sample !== undefined, 'the Prometheus metrics should list the serializer tags')

  const anonymous = await fetch(`${base}/admin/`)
  row('GET /admin/ (no password)', `${anonymous.status}`)
  check(anonymous.status === 401, 'the admin must refuse a request without the password')

  const page = await fetch(`${base}/admin/`, { headers: basic })
  const html = await page.text()
  const cookie = page.headers
    .getSetCookie()
    .map(line => line.split(';')[0])
    .join('; ')
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? ''
  const tags = [...html.matchAll(/name="tags" value="([^"]+)"/g)].map(match => match[1])
  row('GET /admin/', `${page.status}, tags ${tags.join(', ')}`)
  check(page.status === 200 && tags.includes('BookSerializer.reviews'), 'the admin page should list the tags')

  const forged = await fetch(`${base}/admin/invalidate`, {
    method: 'POST',
    headers: { ...basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'pattern=*',
    redirect: 'manual',
  })
  row('POST /admin/invalidate (no token)', `${forged.status}`)
  check(forged.status === 403, 'a form without its token must be refused')

  const form = new URLSearchParams([
    ['_csrf', token],
    ['tags', 'BookSerializer.reviews'],
  ])
  const posted = await fetch(`${base}/admin/invalidate`, {
    method: 'POST',
    headers: { ...basic, cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    redirect: 'manual',
  })
  row('POST /admin/invalidate', `${posted.status} -> ${posted.headers.get('location')}`)
  check(posted.status === 303, `the invalidation should redirect to the page, got ${posted.status}`)

  const history = await (await fetch(`${base}/admin/`, { headers: { ...basic, cookie } })).text()
  const latest = /<table id="history">[\s\S]*?<tbody>\s*<tr>([\s\S]*?)<\/tr>/.exec(history)?.[1] ?? ''
  const cells = [...latest.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map(match => match[1].replace(/<[^>]+>/g, ''))
  row('GET /admin/', `history: ${cells[1]} invalidated tag ${cells[3]}, ${cells[4]} removed`)
  check(cells[1] === user && cells[3] === 'BookSerializer.reviews' && cells[4] === '6', 'the history should show the invalidation of 6 review summaries')
  log('self-check passed')
}
