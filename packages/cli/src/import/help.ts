// `gatehouse help import`, without the importers (the OpenAPI parser) behind it.

/** The usage of `gatehouse import`. */
export const IMPORT_HELP = `gatehouse import kong <kong.yml|kong.json> [-o gateway.yaml] [--strict]
gatehouse import openapi <spec> --upstream <url> [-o gateway.yaml] [--strict]
                         [--group-by tag|server] [--base-path /p] [--validator] [--no-discover]

Writes a Gatehouse file (commented YAML) from a Kong declarative configuration (_format_version 1.1,
2.1, 3.0) or an OpenAPI 3.0/3.1 or Swagger 2.0 description, to -o or to standard output. Whatever
cannot be carried over exactly is a warning, on standard error and in the file's header, each with
the JSON pointer of the input; --strict makes any warning fail (exit 1, nothing written).

openapi options:
  --upstream URL          where the routes proxy to (required); the upstream gets the gateway path
  --group-by tag|server   one service per first tag (default) or per server
  --base-path /p          the path prefix of every route (default: the path of the first server)
  --validator             add a global openapi-validator instance that checks requests against <spec>
  --no-discover           do not fetch OpenID Connect discovery documents for openIdConnect schemes

Exit codes: 0 written, 1 bad input (located: file:line:column /pointer: message) or warnings with
--strict, 2 bad command line.`
