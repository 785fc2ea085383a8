import { main } from './program'

main('TC39').catch(error => {
  console.error(error)
  process.exitCode = 1
})
