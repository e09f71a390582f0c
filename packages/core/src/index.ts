export type { ConfigIssue } from '@gatehousejs/sdk'
export { ConfigError, GatehouseError } from '@gatehousejs/sdk'
export type { GatewayConfig } from '@gatehousejs/sdk/config'
export type { AdminOptions, AdminServer } from './admin.js'
export { startAdmin } from './admin.js'
export * as errors from './errors.js'
export type {
  Gateway,
  GatewayOptions,
  ListenOptions,
  ReloadOptions,
  RouteSummary,
} from './gateway.js'
export { createGateway } from './gateway.js'
export type { HealthEvent, TargetSnapshot, UpstreamSnapshot } from './health.js'
export { createLogger, REDACT_PATHS } from './logger.js'
export type { MirrorStats, PluginInstanceSummary } from './model.js'
export { normalisePath } from './path.js'
export { redactConfig } from './redact.js'
export type {
  ConfigStatus,
  FleetStatus,
  Readiness,
  StatusBody,
  StatusOptions,
  StatusServer,
  StatusSource,
  StoreCheck,
  WorkerStatus,
} from './status.js'
export { checkStores, configHash, GATEHOUSE_VERSION, startStatusServer, statusBody } from './status.js'
export type { HealthState } from './target.js'
export type { ConfigValidation, ValidateOptions } from './validate-config.js'
export { validateConfig } from './validate-config.js'
