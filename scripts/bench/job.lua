-- wrk script: enqueue a diagnostics.noop job with a bearer token (TOKEN).
local token = os.getenv("TOKEN") or ""
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"kind":"diagnostics.noop","payload":{}}'
dofile(os.getenv("REPORT_LUA"))
