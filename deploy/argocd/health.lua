-- Argo CD health of planasonix.io's WebhookTrigger, Pipeline and PipelineRun: one script for the
-- three kinds (kustomization.yaml installs it under each kind's key of argocd-cm). It reads the status the way Flux's
-- kstatus does, so that Argo CD and Flux agree:
--   the controller has not seen the latest spec (observedGeneration behind)  Progressing
--   spec.suspend (a WebhookTrigger)                                          Suspended
--   Stalled=True: retrying cannot help until the spec changes                Degraded
--   Reconciling=True: the controller is still converging                     Progressing
--   Ready=True (or a run's Succeeded=True)                                  Healthy
--   Ready=False (or a run's Succeeded=False)                                Degraded
--   a run not yet finished (Pending, Running)                                Progressing
-- Argo CD runs it with gopher-lua (Lua 5.1); test/integration/gitops runs it the same way on the
-- status the controllers write.
local function condition(conditions, type)
  for _, c in ipairs(conditions or {}) do
    if c.type == type then return c end
  end
  return nil
end

local function say(c, fallback)
  if c == nil then return fallback end
  local text = c.reason or ""
  if c.message ~= nil and c.message ~= "" then text = text .. ": " .. c.message end
  if text == "" then return fallback end
  return text
end

local status = obj.status
local generation = obj.metadata and obj.metadata.generation

if obj.kind == "WebhookTrigger" and obj.spec ~= nil and obj.spec.suspend == true then
  return { status = "Suspended", message = "spec.suspend is true: deliveries are answered 503 until it is cleared" }
end
if status == nil then
  return { status = "Progressing", message = "Waiting for the controller to write a status" }
end
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  return { status = "Progressing", message = "Waiting for the controller to observe generation " .. generation }
end

local stalled = condition(status.conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  return { status = "Degraded", message = say(stalled, "Stalled") }
end
local reconciling = condition(status.conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  return { status = "Progressing", message = say(reconciling, "Reconciling") }
end

-- A run's Succeeded condition says the same as Ready; runs written before Ready existed have only it.
local outcome = "Ready"
local c = condition(status.conditions, "Ready")
if c == nil and obj.kind == "PipelineRun" then
  outcome = "Succeeded"
  c = condition(status.conditions, outcome)
end
if c ~= nil and c.status == "True" then
  return { status = "Healthy", message = say(c, outcome) }
end
if c ~= nil and c.status == "False" then
  return { status = "Degraded", message = say(c, "Not " .. outcome) }
end
if obj.kind == "PipelineRun" and status.phase ~= nil then
  return { status = "Progressing", message = status.phase .. ": " .. (status.reason or "") }
end
return { status = "Progressing", message = say(c, "Waiting for the " .. outcome .. " condition") }
