/**
 * revocable: JWT authentication with real revocation, wire-compatible with Django REST Framework
 * Simple JWT. Named exports only.
 */
export {
  createAuth,
  type Auth,
  type AuthOptions,
  type Claims,
  type RefreshResult,
  type RequestContext,
  type TokenPair,
} from './auth.ts';
export { type Clock, manualClock, systemClock } from './clock.ts';
export { type AuthEventListener, type AuthEventName, type AuthEvents, MASKED_PASSWORD } from './events.ts';
export type { SessionInfo } from './sessions/sessions.ts';
export {
  AuthenticationFailedError,
  DatabaseUnavailableError,
  InvalidCredentialsError,
  NoActiveAccountForTokenError,
  NotAuthenticatedError,
  RequestError,
  RevocableError,
  SessionNotFoundError,
  SettingsError,
  StaleRevocationStateError,
  ThrottledError,
  TokenError,
  TokenMessages,
  TokenRevokedError,
  UnavailableError,
  UserExistsError,
  UserNotFoundError,
  ValidationError,
} from './errors.ts';
export { type RevocationLevel, RevocationCache } from './revocation/cache.ts';
export { ALGORITHMS, type Algorithm, type Settings, type SettingsInput, resolveSettings } from './settings/settings.ts';
export { parseDuration } from './settings/duration.ts';
export type { FlushCounts, FlushOptions, FlushProgress, Store } from './store/store.ts';
export type { RevocationEntry, SessionRecord, TokenType, UserRecord } from './store/records.ts';
export { DEFAULT_DATABASE_URL, openStore } from './store/open.ts';
export type { RevocationBus } from './bus/bus.ts';
export { openBus } from './bus/open.ts';
export { inProcessBus } from './bus/in-process.ts';
export { type ThrottleCounter, type ThrottleStore, openThrottleStore } from './throttle/throttle.ts';
export { memoryThrottleStore } from './throttle/memory.ts';
export type { PasswordHashingOptions } from './users/passwords.ts';
export type { NewUserInput, User, Users } from './users/users.ts';
export { buildServer, type ServerOptions } from './http/fastify.ts';
export { AUTH_FAILURE_REASONS, type AuthFailureReason, type Metrics } from './metrics/metrics.ts';
export { type OpenApiPaths, buildOpenApi } from './http/openapi.ts';
export { createAuthenticator, InvalidAccessTokenError, type Principal } from './http/authenticate.ts';
export {
  createResourceServer,
  type ResourceServer,
  type ResourceServerOptions,
  type TokenUser,
} from './resource/resource-server.ts';
export type { RevocationSource } from './resource/revocations.ts';
export type { JwksClient } from './resource/jwks-client.ts';
export { type VerifierSettings, type VerifierSettingsInput, resolveVerifierSettings } from './settings/settings.ts';
export type { KeyInfo, Keys } from './keys/manager.ts';
export type { PublicJwk } from './keys/jwk.ts';
export { UnknownKeyIdError } from './tokens/decoder.ts';
