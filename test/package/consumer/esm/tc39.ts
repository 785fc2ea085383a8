import { main } from './program.js'

await main('TC39')
