export type { ConfigIssue } from '@gatehousejs/sdk'
export type { GatewayConfig } from '@gatehousejs/sdk/config'
export { ConfigError, GatehouseError } from '@gatehousejs/sdk/host'
export { redactConfig } from './config/redact.js'
export type { ConfigValidation, ValidateOptions } from './config/validate.js'
export { validateConfig } from './config/validate.js'
export * as errors from './errors.js'
export { createGateway } from './gateway.js'
export type {
  Gateway,
  GatewayOptions,
  ListenOptions,
  ReloadOptions,
} from './gateway-types.js'
export { createLogger, REDACT_PATHS } from './logger.js'
export type { MirrorStats, PluginInstanceSummary, RouteSummary } from './model.js'
export { normalisePath } from './request/path.js'
export type { AdminOptions, AdminServer } from './server/admin.js'
export { startAdmin } from './server/admin.js'
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
} from './server/status.js'
export { checkStores, configHash, GATEHOUSE_VERSION, startStatusServer, statusBody } from './server/status.js'
export type { HealthEvent, TargetSnapshot, UpstreamSnapshot } from './upstream/health.js'
export type { HealthState } from './upstream/target.js'
