import { CeleriacHealthIndicator } from '@celeriac/nestjs';
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';

/** GET /health for probes (@nestjs/terminus): 503 when this process's worker is not consuming. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly celeriac: CeleriacHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.celeriac.isHealthy('celeriac')]);
  }
}
