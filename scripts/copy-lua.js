// tsc does not copy non-TypeScript files: the Lua scripts ship beside the compiled store.
const fs = require('fs')
const path = require('path')
const from = path.join(__dirname, '..', 'src', 'store', 'scripts')
const to = path.join(__dirname, '..', 'dist', 'store', 'scripts')
fs.mkdirSync(to, { recursive: true })
for (const file of fs.readdirSync(from)) {
  if (file.endsWith('.lua')) fs.copyFileSync(path.join(from, file), path.join(to, file))
}
