export type { ConfigIssue } from '@gatehousejs/sdk'
export { ConfigError, GatehouseError } from '@gatehousejs/sdk'
export type { GatewayConfig } from '@gatehousejs/sdk/config'
export type { AdminOptions, AdminServer } from './admin.js'
export { redactConfig, startAdmin } from './admin.js'
export * as errors from './errors.js'
export type {
  Gateway,
  GatewayOptions,
  ListenOptions,
  PluginInstanceSummary,
  ReloadOptions,
  RouteSummary,
} from './gateway.js'
export { createGateway } from './gateway.js'
export type { HealthEvent, HealthState, TargetSnapshot, UpstreamSnapshot } from './health.js'
export { createLogger, REDACT_PATHS } from './logger.js'
export type { MirrorStats } from './mirror.js'
export { normalisePath } from './path.js'
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
export type { ConfigValidation, ValidateOptions } from './validate-config.js'
export { validateConfig } from './validate-config.js'
