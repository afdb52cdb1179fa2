"""What both adapters need from a request: provenance (actor, role, times, command id, request
id), `X-Occurred-At`, `If-Match` as an expected version, the container, the translation of a
request's path and query into the use cases' arguments, problem details for what went wrong
(`problems`), the limits on attempts (`rate_limits`) and signing in (`sign_in`).

It sits just below the adapters (it reads Litestar requests) but belongs to neither: the
API (`services.http`) and the pages (`services.web`) both import it and neither imports the
other. It holds no route, no page and no rule of the product; those are the adapters' and the
use cases' (`services.usecases`).
"""
