/**
 * `@gatehousejs/sdk`: what a plugin imports. Named exports only, grouped by concept; specialised
 * toolkits live under subpaths: `/testing` (the test kit), `/redis` (the shared Redis connection),
 * `/transform` (the transformer toolkit) and `/config` (the gateway configuration model).
 * packages/sdk/README.md lists every export; test/exports.test.ts holds the two equal.
 */

export type { AuthGuard, CredentialEntry, JwsAlgorithm } from './auth.js'
// The contract auth plugins share (docs/authentication.md): anonymous access, credentials, consumers.
export {
  AnonymousField,
  authGuardIssues,
  createAuthGuard,
  credentialIssue,
  credentialsOf,
  findConsumer,
  JWS_ALGORITHMS,
  pointerSegment,
  publicConsumer,
  readCredentials,
} from './auth.js'

// The phase-typed context each handler receives, and the request, response and identity it shows.
export type {
  AccessContext,
  Awaitable,
  BodyLimit,
  BodySkipReason,
  ClientCertificate,
  ClientInfo,
  Consumer,
  Credential,
  ErrorContext,
  Headers,
  HeaderValue,
  LogContext,
  Logger,
  Phase,
  PluginTiming,
  RequestView,
  RespondOptions,
  ResponseContext,
  ResponseData,
  ResponseSource,
  RewritableRequest,
  RewriteContext,
  RouteInfo,
  SentUpstreamRequest,
  ServiceInfo,
  SetConsumerOptions,
  SharedState,
  Timings,
  UpstreamRequest,
} from './context.js'
export type { ConfigIssue, ErrorBody, ErrorFactory, GatehouseErrorOptions } from './errors.js'
// Errors: stable `GH_…` codes for clients, located issues for operators.
export { ConfigError, defineError, formatIssue, GatehouseError, isGatehouseError } from './errors.js'
export type { PerLoad } from './per-load.js'
// Work `validate` and `init` share within one load (a file read, schemas compiled), done once.
export { perLoad } from './per-load.js'
export type {
  AdminEndpoint,
  AdminRequest,
  AdminResponse,
  ConsumerRecord,
  Dispatch,
  DispatchOrigin,
  DispatchRequest,
  DispatchResponse,
  PluginCheckEnv,
  PluginDefinition,
  PluginEnv,
  PluginHandlers,
  PluginInit,
  PluginNeeds,
  PluginOptions,
  PluginScope,
  UpstreamHealth,
} from './plugin.js'
// Defining a plugin: the definition, the handlers `init` returns, and what `init` receives.
export { definePlugin, PLUGIN_API_VERSION, PRIORITY } from './plugin.js'
export type { DurationInput, Static, TSchema, TUnsafe } from './schema.js'
// Schema helpers for a plugin's config: TypeBox, plus fields core normalises (ms, bytes, lower case).
export { Duration, HeaderName, Secret, Size, Type } from './schema.js'
