/**
 * `@gatehousejs/sdk/transform`: the transformer toolkit behind the request- and response-transformer
 * plugins (and aggregate's templates). Kong's five operations over flat maps and JSON documents,
 * `$(…)` templates, and dot paths into JSON; everything compiles once at `init`.
 */

// Dot paths into JSON documents (`items.*.price`): parse once, then read, test, set and delete.
export {
  type DotPath,
  DotPathError,
  deletePath,
  EVERY,
  expandPath,
  getPath,
  hasPath,
  type PathSegment,
  parseDotPath,
  setPath,
} from './dot-path.js'
// Templates: `$(headers.x-id)`, compiled once, rendered against a scope.
export {
  type CompileTemplateOptions,
  compileTemplate,
  type Template,
  type TemplateScope,
  TemplateSyntaxError,
} from './template.js'
// Operations: compile `remove`/`rename`/`replace`/`add`/`append` once, apply them per request.
// Config schemas for a transformer plugin's operations, and the variables its templates may read.
export {
  type CompileTransformOptions,
  compileBodyTransform,
  compileFlatTransform,
  compileHeaderTransform,
  compileJsonTransform,
  type FlatFields,
  type FlatTransform,
  headerSafe,
  isJsonContentType,
  type JsonTransform,
  type JsonValueType,
  pointerKey,
  TRANSFORM_OPERATIONS,
  TRANSFORM_VARIABLES,
  type TransformConfig,
  TransformJsonTypes,
  TransformJsonValueMap,
  TransformNameList,
  type TransformOperation,
  type TransformOps,
  TransformRenameMap,
  TransformScope,
  type TransformScopeSource,
  type TransformTarget,
  TransformValueMap,
  transformOpsOf,
} from './transform.js'
