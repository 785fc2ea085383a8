import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { testRedisUrl } from '../support/fixtures'
import { seeded } from './support'

const BIN = join(__dirname, '..', '..', 'dist', 'cli', 'main.js')
const run = promisify(execFile)

describe('the cacheme binary', () => {
  it('runs from dist/ where package.json bin points, and sets the exit code', async function () {
    if (!existsSync(BIN)) {
      // `npm test` builds first; a bare `mocha` on a fresh checkout has no dist/.
      this.test!.title += ' (skipped: no dist/cli/main.js; npm run build makes it)'
      this.skip()
    }
    const prefix = await seeded()
    const { stdout } = await run(process.execPath, [BIN, '--redis', testRedisUrl(), '--prefix', prefix, 'tags', '--json'])
    expect(JSON.parse(stdout)).to.deep.equal({
      prefix,
      tags: [
        { tag: 'cli.owner', members: 3 },
        { tag: 'cli.report', members: 2 },
      ],
    })

    const failed = await run(process.execPath, [BIN, '--redis', 'redis://127.0.0.1:1', 'tags']).catch((error: { code: number; stderr: string }) => error)
    expect(failed).to.include({ code: 3, stderr: 'cacheme: cannot reach Redis at redis://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n' })
  })
})
