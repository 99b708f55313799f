-- Argo CD health of a debugging.dev DebugSession: resource.customizations.health.debugging.dev_DebugSession
-- in argocd-cm (argocd-cm.yaml holds this same text). Argo CD runs it in gopher-lua (Lua 5.1) with
-- only the base, table and os libraries: no string or math library, so no string.format or s:find.
-- The rules are kstatus' (Reconciling, Stalled, Ready, observedGeneration) plus the phase, so that
-- Argo CD, Flux and kstatus-based tools agree; Argo CD itself answers "Pending deletion" before
-- this script runs for an object being deleted.
local hs = { status = "Progressing", message = "Waiting for the operator to report the session's status" }

local status = obj.status
if status == nil then
  return hs
end

local function condition(conditionType)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function isTrue(conditionType)
  local c = condition(conditionType)
  return c ~= nil and c.status == "True"
end

-- status.message is the operator's one line for people; a condition's message stands in for it.
local function messageOr(fallback)
  if type(status.message) == "string" and status.message ~= "" then
    return status.message
  end
  return fallback
end

local generation = obj.metadata.generation
if status.observedGeneration ~= nil and generation ~= nil and status.observedGeneration ~= generation then
  hs.message = "Waiting for the operator to observe generation " .. generation ..
    " (last observed: " .. status.observedGeneration .. ")"
  return hs
end

if isTrue("Reconciling") then
  hs.message = messageOr(condition("Reconciling").message or "Reconciling")
  return hs
end

if isTrue("Stalled") or status.phase == "Failed" then
  local stalled = condition("Stalled")
  local why = "Failed"
  if stalled ~= nil and stalled.status == "True" then
    why = (stalled.reason or "Stalled") .. ": " .. (stalled.message or "")
  end
  hs.status = "Degraded"
  hs.message = messageOr(why)
  return hs
end

local ready = condition("Ready")
if ready ~= nil and ready.status ~= "True" then
  hs.message = messageOr(ready.message or "Not ready")
  return hs
end

-- Past this point a Ready condition, if there is one, is True.
local phase = status.phase
if phase == "Completed" or phase == "Expired" or phase == "Terminated" or (phase == "Running" and ready ~= nil) then
  hs.status = "Healthy"
  hs.message = messageOr(phase)
  return hs
end

if phase ~= nil then
  hs.message = messageOr(phase)
end
return hs
