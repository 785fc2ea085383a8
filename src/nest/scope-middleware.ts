import type { NestMiddleware } from '@nestjs/common'
import { cachemeScope } from '../scope'

/**
 * Nest middleware: each request runs in its own request scope (see `cachemeScope`), so that a
 * memoized call repeated while serving it is answered from memory. It needs no provider.
 * @example
 * export class AppModule implements NestModule {
 *   configure(consumer: MiddlewareConsumer) {
 *     consumer.apply(CachemeScopeMiddleware).forRoutes('*')
 *   }
 * }
 */
export class CachemeScopeMiddleware implements NestMiddleware {
  use(_req: unknown, _res: unknown, next: (error?: unknown) => void): void {
    cachemeScope(next)
  }
}
