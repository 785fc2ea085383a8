import type { AddressInfo } from 'node:net'
import express from 'express'
import { cacheme } from '../../src'
import { cachemeAdmin, type AdminOptions } from '../../src/admin'

/** The header a test sends to be let in, and the one that names the user. */
export const ADMIN_TOKEN = 'test-admin-token'
export const AUTHORIZED = { 'x-admin-token': ADMIN_TOKEN }

export interface TestApp {
  /** `http://127.0.0.1:<port>`; the admin is mounted at `/admin`. */
  readonly url: string
  close(): Promise<void>
}

/** A real Express app on a loopback port with the admin at `/admin`, authorized by a header. */
export async function serveAdmin(options: Partial<AdminOptions> = {}): Promise<TestApp> {
  const app = express()
  app.set('env', 'test') // Express's error handler prints nothing then (an authorize that throws)
  app.use(
    '/admin',
    cachemeAdmin({
      authorize: req => req.get('x-admin-token') === ADMIN_TOKEN,
      who: req => req.get('x-admin-user') ?? 'alice',
      ...options,
    }),
  )
  app.get('/elsewhere', (_req, res) => void res.send('not the admin'))
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Cached functions under two tags of the admin tests' own, with keys to find and delete. */
export const cached = {
  owner: cacheme({ key: c => `AdminVolume:${c.id}>owner`, tag: 'AdminTest.owner' })(async (id: number) => ({ owner: id })),
  title: cacheme({ key: c => `AdminTitle:${c.id}`, tag: 'AdminTest.title' })(async (id: number) => `title ${id}`),
}

/** Stores owners and titles of books 1..n. */
export async function fill(n: number): Promise<void> {
  for (let id = 1; id <= n; id++) await Promise.all([cached.owner(id), cached.title(id)])
}

/** What a browser would get from the page: the status, the HTML, its cookie and its form token. */
export async function openAdmin(app: TestApp, headers: Record<string, string> = AUTHORIZED, cookie?: string) {
  const response = await fetch(`${app.url}/admin/`, { headers: { ...headers, ...(cookie ? { cookie } : {}) } })
  const html = await response.text()
  const setCookie = response.headers.getSetCookie()
  return {
    response,
    html,
    setCookie,
    cookie: cookie ?? setCookie.map(line => line.split(';')[0]).join('; '),
    token: /name="_csrf" value="([^"]*)"/.exec(html)?.[1],
  }
}

/** Posts the invalidation form as a browser would, without following the redirect. */
export function postInvalidate(app: TestApp, fields: [string, string][], headers: Record<string, string> = {}) {
  return fetch(`${app.url}/admin/invalidate`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  })
}
