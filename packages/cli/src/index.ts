export { EXIT, main } from './cli.js'
export { InvalidFileError, type PreparedFile, prepareFile } from './gateway-file.js'
export {
  ImportError,
  type ImportResult,
  type ImportWarning,
  importKong,
  importMain,
  importOpenApi,
  KONG_PLUGINS,
  KONG_UNMAPPED,
  type OpenApiOptions,
  readSource,
  toCommentedYaml,
} from './import/index.js'
export {
  FileError,
  type LoadedFile,
  loadConfigFile,
  type Position,
  parseConfigText,
  substitute,
} from './load.js'
export { type NewPluginOptions, newPlugin } from './new-plugin.js'
export { candidatesFor, PluginResolutionError, type ResolvedPlugins, resolvePlugins } from './resolve.js'
export { formatRoutes } from './routes.js'
export { type RunningGateway, type StartOptions, startFromFile } from './start.js'
