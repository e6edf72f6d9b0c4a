/**
 * sluice as a library. The protocol core is exported as is; the engine, stores and adapters
 * follow the same shapes the CLI uses.
 */

export {
  corsMiddleware,
  expressMiddleware,
  type Middleware,
  type MiddlewareRequest,
} from './adapters/express.js'
export {
  type FastifyCorsOptions,
  type FastifyPluginOptions,
  fastifyCors,
  fastifyPlugin,
} from './adapters/fastify.js'
export {
  createFetchHandler,
  type FetchHandler,
  type FetchHandlerOptions,
  representationResponse,
  toEngineRequest,
  toResponse,
  withCorsFetch,
  writePreconditionsResponse,
} from './adapters/fetch.js'
export {
  checkWritePreconditions,
  createHandler,
  createServer,
  sendRepresentation,
  type ServerOptions,
} from './adapters/node.js'
export * from './core/accept-encoding.js'
export * from './core/byte-ranges.js'
export * from './core/cors/check.js'
export * from './core/cors/origin.js'
export * from './core/cors/policy.js'
export * from './core/cors/safelist.js'
export * from './core/entity-tag.js'
export * from './core/http-date.js'
export * from './core/media-type-patterns.js'
export * from './core/multipart.js'
export * from './core/preconditions.js'
export * from './core/write-preconditions.js'
export { type CorsLayerOptions, type CorsRoute, withCors } from './http/cors.js'
export { createEngine, type Engine, type EngineOptions, type EngineRequest } from './http/engine.js'
export type { Reply, ReplyBody, ReplyHeaders, ReplyNotes } from './http/reply.js'
export {
  type DynamicRepresentation,
  etagFor,
  type RangeSource,
  replyWithRepresentation,
} from './http/representation.js'
export {
  createNodeHandler,
  createStreamHandler,
  type NodeHandler,
  type RequestHandler,
  type StreamHandler,
} from './http/node-handler.js'
export { DEFAULT_SERVER_LIMITS, type ServerLimits, type TlsCredentials } from './http/server.js'
export { DEFAULT_MAX_BODY_BYTES, type WriteOptions } from './http/write.js'
export { type CurrentVersion, replyToWriteGate, type WriteGateOptions } from './http/write-gate.js'
export type { Logger } from './log.js'
export type {
  AppCorsSettings,
  CorsOptions,
  MiddlewareOptions,
  PathSettings,
  SluiceOptions,
} from './options.js'
export { type CompressSettings, FsStore, openFsStore } from './store/fs-store.js'
export { sweepStagedFiles } from './store/staged-files.js'
export {
  type HeldRepresentation,
  isWritableStore,
  type Lookup,
  type OpenedFile,
  type Representation,
  type ResourcePath,
  type Store,
  type StoredVersion,
  type Variants,
  type WritableStore,
  type WriteBody,
  type WriteCondition,
  type WriteResult,
} from './store/store.js'
