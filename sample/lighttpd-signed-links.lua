-- lighttpd + mod_magnet (Debian: apt-get install lighttpd-modules-lua; lighttpd >= 1.4.60): checks the
-- links of nestjs-downloadview's ProxyLinkSigner, so that lighttpd serves the file without asking the
-- app. Used by sample/lighttpd-signed-links.conf; docs/proxy-links.md explains the link.
-- A link: /links/<name>?exp=<unix seconds>&kid=<key id>&cd=<base64url Content-Disposition>&sig=<base64url HMAC>
-- sig = HMAC-SHA256(secret of kid, kid "\n" exp "\n" <decoded URL path> "\n" cd)
-- A bad link is a 403, an expired one a 410.

-- The app's keys, id => secret: the first signs in the app, any one verifies (two during a rollover).
local keys = {
  ["KEY_ID"] = "KEY_SECRET",
}

local r = lighty.r
local patterns = { exp = "^%d+$", kid = "^[%w_-]+$", cd = "^[%w_-]*$", sig = "^[%w_-]+$" }

local function refuse(status)
  r.resp_header["Cache-Control"] = "private, no-store"
  r.resp_header["Content-Type"] = "text/plain"
  -- A body of our own: lighttpd's error page would drop the headers set here.
  r.resp_body.set({ status == 410 and "Link expired\n" or (status == 404 and "Not found\n" or "Forbidden\n") })
  return status
end

-- The four parameters, each exactly once (a repeated one is someone guessing which one is checked).
-- Split by hand: lighty.c.urldec_query() keeps one value of a repeated key, and the values are
-- base64url or digits, which need no decoding.
local args = {}
for pair in string.gmatch(r.req_attr["uri.query"] or "", "[^&]+") do
  local name, value = string.match(pair, "^([^=]*)=(.*)$")
  if name and patterns[name] then
    if args[name] then return refuse(403) end
    args[name] = value
  end
end
for name, pattern in pairs(patterns) do
  if not args[name] or not string.match(args[name], pattern) then return refuse(403) end
end
if #args.exp > 12 or #args.kid > 32 or #args.sig ~= 43 then return refuse(403) end

local secret = keys[args.kid]
if not secret then return refuse(403) end
-- uri.path: the path as lighttpd decoded and simplified it, the file it serves.
local message = args.kid .. "\n" .. args.exp .. "\n" .. r.req_attr["uri.path"] .. "\n" .. args.cd
local expected = lighty.c.b64urlenc(lighty.c.hexdec(lighty.c.hmac("sha256", secret, message)))
if not lighty.c.secret_eq(expected, args.sig) then return refuse(403) end
local remaining = tonumber(args.exp) - lighty.c.time()
if remaining < 0 then return refuse(410) end
-- Whole seconds left, rounded down (the clock's second has begun: one less), so that no cache keeps
-- the file past the link; os.time(), not lighttpd's clock, which ticks once a second and may lag.
local max_age = math.max(0, tonumber(args.exp) - os.time() - 1)
local cd = lighty.c.b64urldec(args.cd)
-- Signed by the app (printable ASCII: RFC 8187 encodes the rest), and checked all the same: a
-- header never carries a control character.
if not cd or string.find(cd, "[^\32-\126]") then return refuse(403) end
local st = lighty.c.stat(r.req_attr["physical.path"])
-- No file: a 404 that no one caches (nor a folder listing).
if not st or not st.is_file then return refuse(404) end

r.resp_header["Content-Disposition"] = cd
-- Cached until the link expires, and no longer.
r.resp_header["Cache-Control"] = "private, max-age=" .. max_age
return 0
