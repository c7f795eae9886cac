-- wrk script: enqueue a no-op diagnostics.echo job with a bearer token (TOKEN).
local token = os.getenv("TOKEN") or ""
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"kind":"diagnostics.echo","payload":{}}'
dofile(os.getenv("REPORT_LUA"))
