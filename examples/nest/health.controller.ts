import { Controller, Get, Res } from '@nestjs/common'
import type { Response } from 'express'
// In an application: import { CachemeService, type CachemeHealth } from 'cacheme/nest'
import { CachemeService, type CachemeHealth } from '../../src/nest'

/** Whether Redis answers and how many invalidations wait for it; 503 when it does not answer. */
@Controller('health')
export class HealthController {
  constructor(private readonly cacheme: CachemeService) {}

  @Get()
  async check(@Res({ passthrough: true }) response: Response): Promise<CachemeHealth> {
    const health = await this.cacheme.isHealthy()
    if (health.cacheme.status === 'down') response.status(503)
    return health
  }
}
