-- The Argo CD judge: runs a resource health script on objects as Argo CD does, with PUC Lua 5.1 and
-- lua-cjson standing in for Argo CD's gopher-lua and Go decoder.
--
--   lua5.1 test/judges/argocd-run.lua config/gitops/argocd-health.lua < [object, ...]
--
-- prints [{status, message}, ...]. What it mirrors from Argo CD (util/lua and gitops-engine's
-- pkg/health): a fresh state per object with only the base, table and a two-function os library,
-- no string library (so no string methods either); the object as the global `obj`, where JSON null
-- fields are absent and null array elements are skipped; an object with a deletionTimestamp is
-- "Progressing: Pending deletion" without running the script; a script error, a result that is
-- not a table or a status Argo CD does not know comes out as Unknown.
local cjson = require("cjson")

local HEALTH_CODES = { Healthy = true, Progressing = true, Degraded = true, Suspended = true, Missing = true, Unknown = true }

local function isArray(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" then
      return false
    end
    n = n + 1
  end
  return n > 0
end

-- Argo CD converts the decoded Go object field by field: a nil (JSON null) becomes Lua nil, so the
-- field is absent; gopher-lua's Append drops nil array elements.
local function fromJSON(v)
  if v == cjson.null then
    return nil
  end
  if type(v) ~= "table" then
    return v
  end
  local out = {}
  if isArray(v) then
    for i = 1, table.maxn(v) do
      local item = fromJSON(v[i])
      if item ~= nil then
        table.insert(out, item)
      end
    end
  else
    for k, item in pairs(v) do
      out[k] = fromJSON(item)
    end
  end
  return out
end

local function sandbox(object)
  local env = {}
  for _, name in ipairs({
    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print", "rawequal", "rawget",
    "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall", "_VERSION",
  }) do
    env[name] = _G[name]
  end
  env.table = {}
  for k, f in pairs(table) do
    env.table[k] = f
  end
  env.os = { time = os.time, date = os.date }
  local modules = { os = env.os, json = { encode = cjson.encode, decode = cjson.decode } }
  env.require = function(name)
    return modules[name] or error("module '" .. tostring(name) .. "' not found")
  end
  env._G = env
  env.obj = object
  return env
end

local function unknown(message)
  return { status = "Unknown", message = message, error = message }
end

local function judge(script, object)
  if object.metadata ~= nil and object.metadata.deletionTimestamp ~= nil then
    return { status = "Progressing", message = "Pending deletion" }
  end
  setfenv(script, sandbox(object))
  -- gopher-lua without its string library has no string metatable, so ("x"):find() fails there too.
  local stringMeta = debug.getmetatable("")
  debug.setmetatable("", nil)
  local ok, hs = pcall(script)
  debug.setmetatable("", stringMeta)
  if not ok then
    return unknown(tostring(hs))
  end
  if type(hs) ~= "table" then
    return unknown("expect table output from Lua script, not " .. type(hs))
  end
  if next(hs) == nil then
    -- Argo CD encodes an empty table as [] and cannot read a health status from it.
    return unknown("json: cannot unmarshal array into Go value of type health.HealthStatus")
  end
  if hs.message ~= nil and type(hs.message) ~= "string" then
    return unknown("json: cannot unmarshal " .. type(hs.message) .. " into Go struct field HealthStatus.message")
  end
  if not HEALTH_CODES[hs.status] then
    return { status = "Unknown", message = "Lua returned an invalid health status" }
  end
  return { status = hs.status, message = hs.message }
end

local scriptPath = arg[1] or error("usage: lua5.1 argocd-run.lua HEALTH_SCRIPT < objects.json")
local objects = cjson.decode(io.read("*a"))
local results = {}
for i, raw in ipairs(objects) do
  -- Loaded per object: Argo CD starts a fresh Lua state for every evaluation.
  local script = assert(loadfile(scriptPath))
  results[i] = judge(script, fromJSON(raw))
end
if #results == 0 then
  io.write("[]\n")
else
  io.write(cjson.encode(results), "\n")
end
